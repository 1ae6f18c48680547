// The session: tokens live in memory and in sessionStorage (this tab only, gone when it closes);
// never in localStorage or cookies readable by other tabs.

export interface Tokens {
  access_token: string;
  refresh_token: string;
  /** Epoch ms when the access token expires. */
  expires_at: number;
}

const KEY = 'keyward.session';
let current: Tokens | null = null;
const listeners = new Set<(t: Tokens | null) => void>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function loadSession(): Tokens | null {
  if (current) return current;
  const raw = storage()?.getItem(KEY);
  if (!raw) return null;
  try {
    const t = JSON.parse(raw) as Partial<Tokens>;
    if (typeof t.access_token === 'string' && typeof t.refresh_token === 'string' && typeof t.expires_at === 'number') {
      current = { access_token: t.access_token, refresh_token: t.refresh_token, expires_at: t.expires_at };
    }
  } catch {
    storage()?.removeItem(KEY);
  }
  return current;
}

export function saveSession(answer: { access_token: string; refresh_token: string; expires_in: number }): Tokens {
  current = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    expires_at: Date.now() + answer.expires_in * 1000,
  };
  storage()?.setItem(KEY, JSON.stringify(current));
  for (const l of listeners) l(current);
  return current;
}

export function clearSession(): void {
  current = null;
  storage()?.removeItem(KEY);
  for (const l of listeners) l(null);
}

export function onSessionChange(l: (t: Tokens | null) => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

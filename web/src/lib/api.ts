// One fetch wrapper for the management API: bearer token, refresh on 401 (once, shared by
// concurrent requests), and the API's one error shape turned into `ApiError`.

import { clearSession, loadSession, saveSession, type Tokens } from './session';

export interface ErrorShape {
  error?: { code?: string; message?: string; field?: string; request_id?: string };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, code: string, message: string, field?: string, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.requestId = requestId;
  }

  /** The route itself is missing (not yet deployed on this gateway) or its backend is down. */
  get routeUnavailable(): boolean {
    return (this.status === 404 && /^route not found/i.test(this.message)) || this.status === 503 || this.status === 502;
  }
}

export async function toApiError(res: Response): Promise<ApiError> {
  let body: ErrorShape | null = null;
  try {
    body = (await res.json()) as ErrorShape;
  } catch {
    body = null;
  }
  const e = body?.error;
  const requestId = e?.request_id ?? res.headers.get('x-request-id') ?? undefined;
  const fallback = res.status === 0 ? 'network error' : `${res.status} ${res.statusText || 'error'}`.trim();
  return new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? fallback, e?.field, requestId);
}

let refreshing: Promise<Tokens | null> | null = null;

/** Exchanges the refresh token for a new pair; null (and signed out) when that fails. */
export function refreshTokens(): Promise<Tokens | null> {
  if (refreshing) return refreshing;
  const t = loadSession();
  if (!t) return Promise.resolve(null);
  refreshing = (async () => {
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: t.refresh_token }),
      });
      if (!res.ok) {
        clearSession();
        return null;
      }
      return saveSession((await res.json()) as { access_token: string; refresh_token: string; expires_in: number });
    } catch {
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Return the Response instead of parsing JSON (downloads). */
  raw?: boolean;
  /** Do not send the bearer token (sign-in). */
  anonymous?: boolean;
}

async function send(path: string, opts: RequestOptions, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: opts.raw ? '*/*' : 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (token && !opts.anonymous) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  let tokens = loadSession();
  if (tokens && !opts.anonymous && tokens.expires_at - Date.now() < 15_000) {
    tokens = (await refreshTokens()) ?? tokens;
  }
  let res = await send(path, opts, tokens?.access_token);
  if (res.status === 401 && tokens && !opts.anonymous) {
    const fresh = await refreshTokens();
    if (fresh) res = await send(path, opts, fresh.access_token);
  }
  if (!res.ok) {
    const err = await toApiError(res);
    if (res.status === 401 && !opts.anonymous) clearSession();
    throw err;
  }
  if (opts.raw) return res as unknown as T;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal }),
  post: <T>(path: string, body?: unknown) => request<T>(path, { method: 'POST', body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => request<T>(path, { method: 'PATCH', body }),
  put: <T>(path: string, body: unknown) => request<T>(path, { method: 'PUT', body }),
  del: <T = void>(path: string) => request<T>(path, { method: 'DELETE' }),
};

/** Downloads `path` (with the bearer token) as a file named `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await request<Response>(path, { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Sign-in. A 401 "totp_code is required" means: ask for the code and send again. */
export async function signIn(input: { email: string; password: string; totp_code?: string; org_id?: string }): Promise<Tokens> {
  const answer = await request<{ access_token: string; refresh_token: string; expires_in: number }>('/api/v1/auth/login', {
    method: 'POST',
    body: input,
    anonymous: true,
  });
  return saveSession(answer);
}

export function needsTotp(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401 && /totp_code is required/i.test(err.message);
}

export function needsOrg(err: unknown): boolean {
  return err instanceof ApiError && err.field === 'org_id';
}

export async function signOut(): Promise<void> {
  try {
    if (loadSession()) await request('/api/v1/auth/logout', { method: 'POST', body: {} });
  } catch {
    // Signing out locally is what matters; the session also ends when the token expires.
  } finally {
    clearSession();
  }
}

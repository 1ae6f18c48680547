// Per-browser preferences (not secrets): theme and display time zone.

import { useSyncExternalStore } from 'react';
import { browserTimeZone, isValidTimeZone } from '../lib/time';

export type ThemeChoice = 'system' | 'light' | 'dark';

interface Prefs {
  theme: ThemeChoice;
  timeZone: string;
}

const KEY = 'keyward.prefs';
const listeners = new Set<() => void>();

function read(): Prefs {
  let stored: Partial<Prefs> = {};
  try {
    stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>;
  } catch {
    stored = {};
  }
  const theme = stored.theme === 'light' || stored.theme === 'dark' ? stored.theme : 'system';
  const timeZone = stored.timeZone && isValidTimeZone(stored.timeZone) ? stored.timeZone : browserTimeZone();
  return { theme, timeZone };
}

let prefs: Prefs = read();

export function setPrefs(patch: Partial<Prefs>): void {
  prefs = { ...prefs, ...patch };
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Private mode: keep in memory.
  }
  applyTheme();
  for (const l of listeners) l();
}

export function usePrefs(): Prefs {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => prefs,
  );
}

const media = typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

export function effectiveTheme(): 'light' | 'dark' {
  if (prefs.theme !== 'system') return prefs.theme;
  return media?.matches ? 'dark' : 'light';
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = effectiveTheme();
}

media?.addEventListener('change', () => {
  // A new object, so subscribers re-render with the new effective theme.
  prefs = { ...prefs };
  applyTheme();
  for (const l of listeners) l();
});

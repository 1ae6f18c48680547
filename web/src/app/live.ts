// Live updates: `GET /api/v1/events/stream` (SSE). EventSource cannot send headers, so the access
// token goes in `?access_token=`; the stream reconnects with a fresh token after each refresh.
// Events only invalidate cached queries (and raise a toast); polling covers a missing stream.

import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { onSessionChange, loadSession } from '../lib/session';

export interface LiveEvent {
  type: string;
  data: Record<string, unknown>;
}

const INVALIDATES: Record<string, string[][]> = {
  'budget.threshold': [['budgets'], ['overview']],
  'budget.exhausted': [['budgets'], ['overview']],
  'budget.reset': [['budgets'], ['overview']],
  'alert.fired': [['alerts'], ['overview']],
  'alert.resolved': [['alerts'], ['overview']],
  'key.revoked': [['provider-keys'], ['overview']],
  'key.rotated': [['provider-keys']],
  'key.validated': [['provider-keys']],
  'key.invalid': [['provider-keys'], ['overview']],
  'usage.updated': [['usage'], ['overview']],
  'virtual_key.changed': [['virtual-keys']],
};

export const EVENT_NAMES = Object.keys(INVALIDATES);

export function describeEvent(e: LiveEvent): string | null {
  const d = e.data;
  const name = typeof d.name === 'string' ? d.name : typeof d.budget_name === 'string' ? d.budget_name : '';
  switch (e.type) {
    case 'budget.threshold':
      return `Budget ${name} crossed ${String(d.percent ?? d.threshold ?? '')}%`.replace(/\s+%/, '%');
    case 'budget.exhausted':
      return `Budget ${name} is exhausted`;
    case 'alert.fired':
      return `Alert: ${typeof d.title === 'string' ? d.title : 'a rule fired'}`;
    case 'key.revoked':
      return 'A provider key was revoked';
    case 'key.invalid':
      return 'A provider key failed validation';
    default:
      return null;
  }
}

export function useLiveEvents(enabled: boolean, onEvent: (e: LiveEvent) => void): boolean {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const [token, setToken] = useState(() => loadSession()?.access_token ?? null);

  useEffect(() => onSessionChange((t) => setToken(t?.access_token ?? null)), []);

  useEffect(() => {
    if (!enabled || !token || typeof EventSource === 'undefined') return;
    let es: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let closed = false;
    const open = () => {
      es = new EventSource(`/api/v1/events/stream?access_token=${encodeURIComponent(token)}`);
      es.onopen = () => {
        failures = 0;
        setConnected(true);
      };
      es.onerror = () => {
        setConnected(false);
        es?.close();
        failures += 1;
        // Back off up to 2 minutes; polling keeps the pages fresh meanwhile.
        if (!closed) retry = setTimeout(open, Math.min(120_000, 2_000 * 2 ** Math.min(failures, 6)));
      };
      const handle = (type: string) => (msg: MessageEvent<string>) => {
        let data: Record<string, unknown> = {};
        try {
          data = JSON.parse(msg.data) as Record<string, unknown>;
        } catch {
          data = {};
        }
        for (const key of INVALIDATES[type] ?? []) void qc.invalidateQueries({ queryKey: key });
        onEvent({ type, data });
      };
      for (const name of EVENT_NAMES) es.addEventListener(name, handle(name) as EventListener);
    };
    open();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      es?.close();
      setConnected(false);
    };
  }, [enabled, token, qc, onEvent]);

  return connected;
}

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

// The events the gateway streams (services/api-gateway/src/live.rs): `budget.#`, `key.#`,
// `virtual_key.changed` and `alert.*` state changes. Budget and key events can also fire alerts,
// so those lists refresh too.
const INVALIDATES: Record<string, string[][]> = {
  'budget.threshold': [['budgets'], ['overview'], ['alerts']],
  'budget.exhausted': [['budgets'], ['overview'], ['alerts']],
  'budget.reset': [['budgets'], ['overview'], ['alerts']],
  'key.validated': [['provider-keys'], ['alerts']],
  'key.invalid': [['provider-keys'], ['overview'], ['alerts']],
  'key.expiring': [['provider-keys'], ['alerts']],
  'key.rotation_due': [['provider-keys'], ['alerts']],
  'key.access_anomaly': [['provider-keys'], ['alerts']],
  'key.revoked': [['provider-keys'], ['overview'], ['alerts']],
  'key.rotated': [['provider-keys'], ['alerts']],
  'virtual_key.changed': [['virtual-keys']],
  'alert.fired': [['alerts'], ['overview']],
  'alert.acknowledged': [['alerts'], ['overview']],
  'alert.resolved': [['alerts'], ['overview']],
  'alert.snoozed': [['alerts'], ['overview']],
  'alert.escalated': [['alerts'], ['overview']],
  // The stream dropped events (a slow client): refresh everything it covers.
  lagged: [['budgets'], ['overview'], ['provider-keys'], ['virtual-keys'], ['alerts']],
};

export const EVENT_NAMES = Object.keys(INVALIDATES);

const money = (v: unknown) => (typeof v === 'number' ? `$${(v / 1_000_000).toFixed(2)}` : '');

/** The toast of an event, or null for events that only refresh data. */
export function describeEvent(e: LiveEvent): string | null {
  const d = e.data;
  switch (e.type) {
    case 'budget.threshold':
      return `A budget crossed ${String(d.percent ?? '?')}% (${money(d.spent_micros)} of ${money(d.amount_micros)})`;
    case 'budget.exhausted':
      return `A ${d.hard === true ? 'hard' : 'soft'} budget is exhausted (${money(d.spent_micros)} of ${money(d.amount_micros)})`;
    case 'key.invalid':
      return `A ${typeof d.provider === 'string' ? d.provider : 'provider'} key failed validation`;
    case 'key.revoked':
      return 'A provider key was revoked';
    case 'key.access_anomaly':
      return 'Unusual access to a provider key';
    case 'alert.fired':
      return typeof d.severity === 'string' && d.severity ? `A ${d.severity} alert fired` : 'An alert fired';
    case 'alert.escalated':
      return 'An unacknowledged alert was escalated';
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

// Pure logic of the alert pages: the body of a rule (`POST`/`PUT /api/v1/alerts/rules…`).

import { parseConditions, type AlertRule, type Silence } from './types';

export const RULE_TYPES = ['budget', 'key_health', 'access_anomaly', 'spend_spike', 'error_rate', 'latency_p95'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** The documented conditions of each type (docs/alerts.md), as a starting point in the form. */
export const DEFAULT_CONDITIONS: Record<string, Record<string, unknown>> = {
  budget: { min_percent: 50, budget_ids: [] },
  key_health: { events: ['key.invalid', 'key.expiring', 'key.rotation_due'], key_ids: [] },
  access_anomaly: { windows: ['minute', 'hour', 'day'], key_ids: [] },
  spend_spike: { window_minutes: 60, baseline_days: 7, sensitivity: 4.0, min_ratio: 2.0, min_spend_micros: 5_000_000 },
  error_rate: { group_by: 'provider', window_minutes: 15, max_error_rate: 0.05, min_requests: 20 },
  latency_p95: { group_by: 'provider', window_minutes: 15, max_p95_ms: 10_000, min_requests: 20 },
};

export interface RuleFormValues {
  name: string;
  rule_type: string;
  severity: string;
  enabled: boolean;
  conditions: string;
  channel_ids: string[];
  escalate_after_minutes: string;
  escalation_channel_ids: string[];
  dedup_window_minutes: string;
  silences: Silence[];
}

function minutes(text: string, field: string, errors: Record<string, string>): number {
  const t = text.trim();
  if (!t) return 0;
  if (!/^\d+$/.test(t) || Number(t) > 525_600) {
    errors[field] = 'Whole minutes, 0 to 525600';
    return 0;
  }
  return Number(t);
}

/** The rule as the API takes it (`PUT` replaces every field, so the body is always complete). */
export function ruleBody(v: RuleFormValues, existing?: AlertRule): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const name = v.name.trim();
  if (!name) errors.name = 'Give the rule a name';
  if (!(RULE_TYPES as readonly string[]).includes(v.rule_type)) errors.rule_type = 'Choose a type';
  const c = parseConditions(v.conditions);
  if (!c.ok) errors.conditions = c.error;
  const escalate = minutes(v.escalate_after_minutes, 'escalate_after_minutes', errors);
  const dedup = minutes(v.dedup_window_minutes, 'dedup_window_minutes', errors);
  if (escalate > 0 && v.escalation_channel_ids.length === 0) errors.escalation_channel_ids = 'Choose the channels to escalate to';
  v.silences.forEach((s, i) => {
    if (!(new Date(s.from) < new Date(s.to))) errors[`silences.${i}`] = 'A silence must end after it starts';
  });
  if (Object.keys(errors).length || !c.ok) return { errors };
  const body: Record<string, unknown> = {
    name,
    rule_type: v.rule_type,
    severity: v.severity,
    enabled: v.enabled,
    channel_ids: v.channel_ids,
    escalate_after_minutes: escalate,
    escalation_channel_ids: escalate > 0 ? v.escalation_channel_ids : [],
    dedup_window_minutes: dedup,
    silences: v.silences.map((s) => ({ from: s.from, to: s.to, comment: s.comment })),
  };
  if (c.value) body.conditions = c.value;
  if (existing) {
    const s = existing.scope;
    const scope = Object.fromEntries(Object.entries(s).filter(([, id]) => id));
    if (Object.keys(scope).length) body.scope = scope;
  }
  return { body };
}

/** Whole minutes of a seconds field, for the form (the API answers seconds). */
export function toMinutes(seconds: number): string {
  return seconds ? String(Math.round(seconds / 60)) : '';
}

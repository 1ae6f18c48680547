import { describe, expect, it } from 'vitest';
import { ruleBody, toMinutes } from './alerts';
import type { AlertRule } from './types';

const values = {
  name: ' Budget 80 ',
  rule_type: 'budget',
  severity: 'critical',
  enabled: true,
  conditions: '{"min_percent": 80}',
  channel_ids: ['c1'],
  escalate_after_minutes: '30',
  escalation_channel_ids: ['c2'],
  dedup_window_minutes: '',
  silences: [{ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', comment: 'holiday' }],
};

describe('ruleBody', () => {
  it('builds the complete body the API accepts', () => {
    expect(ruleBody(values)).toEqual({
      body: {
        name: 'Budget 80',
        rule_type: 'budget',
        severity: 'critical',
        enabled: true,
        conditions: { min_percent: 80 },
        channel_ids: ['c1'],
        escalate_after_minutes: 30,
        escalation_channel_ids: ['c2'],
        dedup_window_minutes: 0,
        silences: [{ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', comment: 'holiday' }],
      },
    });
  });
  it('leaves conditions out for the defaults and keeps an existing scope on PUT', () => {
    const rule = { scope: { team_id: 't1', project_id: null, user_id: null, virtual_key_id: null } } as AlertRule;
    const r = ruleBody({ ...values, conditions: '{}', escalate_after_minutes: '0' }, rule);
    expect('body' in r && r.body.conditions).toBe(undefined);
    expect('body' in r && r.body.scope).toEqual({ team_id: 't1' });
    expect('body' in r && r.body.escalation_channel_ids).toEqual([]);
  });
  it('names what is wrong', () => {
    const r = ruleBody({ ...values, name: '', conditions: '[', escalate_after_minutes: '5', escalation_channel_ids: [], silences: [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z', comment: '' }] });
    expect(r).toEqual({ errors: { name: expect.any(String), conditions: expect.any(String), escalation_channel_ids: expect.any(String), 'silences.0': expect.any(String) } });
  });
  it('shows seconds as minutes', () => {
    expect(toMinutes(3600)).toBe('60');
    expect(toMinutes(0)).toBe('');
  });
});

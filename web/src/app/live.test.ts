import { describe, expect, it } from 'vitest';
import { describeEvent, EVENT_NAMES } from './live';

describe('live events', () => {
  it('listens to what the gateway streams', () => {
    for (const n of ['budget.threshold', 'budget.exhausted', 'budget.reset', 'key.invalid', 'key.rotated', 'virtual_key.changed', 'alert.fired', 'alert.resolved', 'lagged']) expect(EVENT_NAMES).toContain(n);
    expect(EVENT_NAMES).not.toContain('usage.updated');
  });
  it('describes budget events from their real payload', () => {
    expect(describeEvent({ type: 'budget.threshold', data: { budget_id: 'b', percent: 80, spent_micros: 800_000, amount_micros: 1_000_000 } })).toBe('A budget crossed 80% ($0.80 of $1.00)');
    expect(describeEvent({ type: 'budget.exhausted', data: { hard: true, spent_micros: 1_000_000, amount_micros: 1_000_000 } })).toBe('A hard budget is exhausted ($1.00 of $1.00)');
    expect(describeEvent({ type: 'virtual_key.changed', data: {} })).toBeNull();
    expect(describeEvent({ type: 'alert.fired', data: { alert_id: 'a', state: 'firing', severity: 'critical' } })).toBe('A critical alert fired');
    expect(describeEvent({ type: 'alert.fired', data: {} })).toBe('An alert fired');
    expect(describeEvent({ type: 'alert.resolved', data: {} })).toBeNull();
  });
});

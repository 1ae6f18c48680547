import { describe, expect, it } from 'vitest';
import { listOf, nextCursor, readTime, toAuditEntry, toBudget, toUsagePage } from './types';

describe('normalizers', () => {
  it('reads budgets with either money spelling', () => {
    const a = toBudget({ id: 'b', name: 'org', amount: { micros: 5_000_000 }, spent_micros: 1_000_000, thresholds: [50, 80, 100] });
    expect(a.amount_micros).toBe(5_000_000);
    expect(a.spent_micros).toBe(1_000_000);
    expect(a.thresholds).toEqual([50, 80, 100]);
    expect(a.period).toBe('month');
  });
  it('reads usage pages and cursors', () => {
    const p = toUsagePage({ rows: [{ group: { model: 'gpt-4o' }, requests: '3', cost_micros: 42 }], page: { next_cursor: 'n' } });
    expect(p.rows[0]?.requests).toBe(3);
    expect(p.rows[0]?.group.model).toBe('gpt-4o');
    expect(p.next_cursor).toBe('n');
    expect(nextCursor({ next_cursor: '' })).toBeUndefined();
  });
  it('reads audit entries flat or nested, with JSON before/after', () => {
    const nested = toAuditEntry({ seq: 7, event: { action: 'virtual_key.create', actor: { id: 'u1', email: 'a@x' }, after_json: '{"name":"k"}' }, hash: [1, 255] });
    expect(nested).toMatchObject({ seq: 7, action: 'virtual_key.create', actor: 'a@x', after: { name: 'k' }, hash: '01ff' });
    const flat = toAuditEntry({ seq: 8, action: 'auth.login', actor_id: 'u2', before_json: '' });
    expect(flat).toMatchObject({ seq: 8, actor: 'u2', before: null });
  });
  it('reads times and lists', () => {
    expect(readTime({ seconds: 1, nanos: 5e6 })).toBe('1970-01-01T00:00:01.005Z');
    expect(listOf({ budgets: [1] }, 'budgets')).toEqual([1]);
    expect(listOf([2])).toEqual([2]);
    expect(listOf(null)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { budgetBody, budgetFilters, parseThresholds, scopeKind } from './budgets';
import type { Budget } from './types';

const scope = { team_id: 't1', project_id: 'p1', virtual_key_id: 'k1' };
const budget: Budget = {
  id: 'b1',
  name: 'monthly',
  scope: { team_id: null, project_id: null, virtual_key_id: null },
  period: 'month',
  rolling: false,
  amount_micros: 5_000_000,
  hard: true,
  thresholds: [50, 80, 100],
  spent_micros: 0,
  reserved_micros: 0,
  remaining_micros: 5_000_000,
  exhausted: false,
  period_start: null,
  period_end: null,
};
const form = { name: 'monthly', amount: '5', period: 'month', rolling: false, hard: true, thresholds: '50, 80, 100', scopeKind: 'org', target: '' };

describe('budget scope', () => {
  it('filters usage by the narrowest id (a key budget also carries its team)', () => {
    expect(budgetFilters(scope)).toEqual({ virtual_key_id: ['k1'] });
    expect(budgetFilters({ ...scope, virtual_key_id: null })).toEqual({ project_id: ['p1'] });
    expect(budgetFilters({ team_id: 't1', project_id: null, virtual_key_id: null })).toEqual({ team_id: ['t1'] });
    expect(budgetFilters(budget.scope)).toEqual({});
    expect(scopeKind(scope)).toBe('virtual_key');
    expect(scopeKind(budget.scope)).toBe('org');
  });
});

describe('thresholds', () => {
  it('parses, sorts and deduplicates', () => {
    expect(parseThresholds('100, 50 80%,50')).toEqual([50, 80, 100]);
  });
  it('refuses what the gateway refuses', () => {
    expect(typeof parseThresholds('')).toBe('string');
    expect(typeof parseThresholds('0')).toBe('string');
    expect(typeof parseThresholds('1001')).toBe('string');
    expect(typeof parseThresholds('12.5')).toBe('string');
    expect(typeof parseThresholds(Array.from({ length: 21 }, (_, i) => i + 1).join(','))).toBe('string');
  });
});

describe('budgetBody', () => {
  it('creates with amount_micros, period, thresholds and a scope', () => {
    expect(budgetBody({ ...form, amount: '0.001', hard: false, scopeKind: 'team', target: 't1' })).toEqual({
      body: { name: 'monthly', amount_micros: 1000, period: 'month', rolling: false, hard: false, thresholds: [50, 80, 100], scope: { team_id: 't1' } },
    });
    expect(budgetBody(form)).toMatchObject({ body: { amount_micros: 5_000_000 } });
    expect('scope' in (budgetBody(form) as { body: object }).body).toBe(false);
  });
  it('patches only what changed', () => {
    expect(budgetBody(form, budget)).toEqual({ body: {} });
    expect(budgetBody({ ...form, amount: '7.5', thresholds: '90' }, budget)).toEqual({ body: { amount_micros: 7_500_000, thresholds: [90] } });
  });
  it('names the fields in error', () => {
    const r = budgetBody({ ...form, name: ' ', amount: 'ten', thresholds: '0', scopeKind: 'project' });
    expect(r).toEqual({ errors: { name: expect.any(String), amount: expect.any(String), thresholds: expect.any(String), target: expect.any(String) } });
  });
});

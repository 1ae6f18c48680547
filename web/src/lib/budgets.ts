// Pure logic of the budgets page: the usage filters a budget covers and its form's values.

import type { UsageFilters } from './query';
import type { Budget, BudgetScope } from './types';
import { parseDollars } from './money';

/** The usage filters of a budget's scope (a key's budget is narrower than its team's). */
export function budgetFilters(scope: BudgetScope): UsageFilters {
  if (scope.virtual_key_id) return { virtual_key_id: [scope.virtual_key_id] };
  if (scope.project_id) return { project_id: [scope.project_id] };
  if (scope.team_id) return { team_id: [scope.team_id] };
  return {};
}

/** Which kind of scope a budget has. */
export function scopeKind(scope: BudgetScope): 'virtual_key' | 'project' | 'team' | 'org' {
  return scope.virtual_key_id ? 'virtual_key' : scope.project_id ? 'project' : scope.team_id ? 'team' : 'org';
}

/** "50, 80 100" → [50, 80, 100] (sorted, deduplicated): 1–20 whole percentages from 1 to 1000. */
export function parseThresholds(text: string): number[] | string {
  const parts = text.split(/[\s,%]+/).filter(Boolean);
  if (parts.length === 0) return 'Give at least one threshold, e.g. 50, 80, 100';
  const out = new Set<number>();
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 1000) return `"${p}" is not a whole percentage from 1 to 1000`;
    out.add(n);
  }
  if (out.size > 20) return 'At most 20 thresholds';
  return [...out].sort((a, b) => a - b);
}

export interface BudgetFormValues {
  name: string;
  amount: string;
  period: string;
  rolling: boolean;
  hard: boolean;
  thresholds: string;
  scopeKind: string;
  target: string;
}

/**
 * The body of `POST /api/v1/budgets` (no `budget`) or of `PATCH /api/v1/budgets/{id}` (only
 * what changed; the scope cannot change), or the field errors.
 */
export function budgetBody(v: BudgetFormValues, budget?: Budget): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const name = v.name.trim();
  if (!name) errors.name = 'Give the budget a name';
  const amount = parseDollars(v.amount);
  if (amount === null || amount <= 0) errors.amount = 'Enter an amount in dollars, e.g. 250 or 99.50';
  const thresholds = parseThresholds(v.thresholds);
  if (typeof thresholds === 'string') errors.thresholds = thresholds;
  if (!['day', 'week', 'month'].includes(v.period)) errors.period = 'Choose day, week or month';
  if (!budget && v.scopeKind !== 'org' && !v.target) errors.target = 'Choose what the budget applies to';
  if (Object.keys(errors).length || amount === null || typeof thresholds === 'string') return { errors };
  const full: Record<string, unknown> = { name, amount_micros: amount, period: v.period, rolling: v.rolling, hard: v.hard, thresholds };
  if (!budget) {
    if (v.scopeKind !== 'org') full.scope = { [`${v.scopeKind}_id`]: v.target };
    return { body: full };
  }
  const before: Record<string, unknown> = { name: budget.name, amount_micros: budget.amount_micros, period: budget.period, rolling: budget.rolling, hard: budget.hard, thresholds: budget.thresholds };
  const body: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(full)) if (JSON.stringify(val) !== JSON.stringify(before[k])) body[k] = val;
  return { body };
}

import { describe, expect, it } from 'vitest';
import { actorText, conditionsText, parseConditions } from './types';

describe('audit actors', () => {
  it('shows the e-mail, else the id, and marks erased users', () => {
    expect(actorText({ actor: { kind: 'user', id: 'u1', email: 'a@x' }, subject_readable: true })).toBe('a@x');
    expect(actorText({ actor: { kind: 'user', id: 'u1', email: null }, subject_readable: false })).toBe('(erased)');
    expect(actorText({ actor: { kind: 'service', id: 'cost' }, subject_readable: true })).toBe('cost');
    expect(actorText({ actor: null, subject_readable: true })).toBe('');
  });
});

describe('rule conditions', () => {
  it('round-trips objects and treats empty as the defaults', () => {
    expect(conditionsText(null)).toBe('{}');
    expect(conditionsText({ min_percent: 80 })).toBe('{\n  "min_percent": 80\n}');
    expect(parseConditions(' ')).toEqual({ ok: true, value: undefined });
    expect(parseConditions('{}')).toEqual({ ok: true, value: undefined });
    expect(parseConditions('{"min_percent": 80}')).toEqual({ ok: true, value: { min_percent: 80 } });
  });
  it('refuses what is not a JSON object', () => {
    expect(parseConditions('[1]').ok).toBe(false);
    expect(parseConditions('{min_percent: 80}').ok).toBe(false);
    expect(parseConditions('3').ok).toBe(false);
  });
});

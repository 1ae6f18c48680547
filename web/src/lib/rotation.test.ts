import { describe, expect, it } from 'vitest';
import { rotationState } from './rotation';

const now = new Date('2025-07-15T12:00:00Z');
const daysAgo = (d: number, extraMs = 0) => new Date(now.getTime() - d * 86_400_000 - extraMs).toISOString();

describe('rotationState', () => {
  it('is ok before 60 days', () => {
    const s = rotationState({ status: 'active', created_at: daysAgo(59, 3600_000) }, now);
    expect(s.level).toBe('ok');
    expect(s.ageDays).toBe(59);
    expect(s.daysLeft).toBe(1);
  });
  it('is due from day 60 and overdue from day 90', () => {
    expect(rotationState({ status: 'active', created_at: daysAgo(60) }, now).level).toBe('due');
    expect(rotationState({ status: 'active', created_at: daysAgo(89) }, now)).toMatchObject({ level: 'due', daysLeft: 1 });
    expect(rotationState({ status: 'grace', created_at: daysAgo(90) }, now)).toMatchObject({ level: 'overdue', label: 'Rotation overdue (90 d)' });
  });
  it('counts from the last rotation when there is one', () => {
    expect(rotationState({ status: 'active', created_at: daysAgo(400), rotated_at: daysAgo(10) }, now).level).toBe('ok');
  });
  it('never nags about revoked or expired keys, or future dates', () => {
    expect(rotationState({ status: 'revoked', created_at: daysAgo(400) }, now).level).toBe('inactive');
    expect(rotationState({ status: 'expired', created_at: daysAgo(100) }, now).level).toBe('inactive');
    expect(rotationState({ status: 'active', created_at: new Date(now.getTime() + 86_400_000).toISOString() }, now).level).toBe('ok');
    expect(rotationState({ status: 'active' }, now).level).toBe('ok');
  });
});

import { describe, expect, it } from 'vitest';
import {
  bucketFor,
  daysBetween,
  formatRelative,
  formatTime,
  fromLocalInput,
  isValidTimeZone,
  presetRange,
  toApiEnd,
  toApiTime,
  toLocalInput,
  tzOffsetMs,
  zonedTime,
} from './time';

describe('time zones', () => {
  it('knows valid zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
  it('computes offsets across DST', () => {
    expect(tzOffsetMs(new Date('2025-01-15T12:00:00Z'), 'Europe/Paris')).toBe(3600_000);
    expect(tzOffsetMs(new Date('2025-07-15T12:00:00Z'), 'Europe/Paris')).toBe(7200_000);
    expect(tzOffsetMs(new Date('2025-07-15T12:00:00Z'), 'America/New_York')).toBe(-4 * 3600_000);
    expect(tzOffsetMs(new Date('2025-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * 3600_000);
  });
  it('finds the instant of a local wall-clock time', () => {
    expect(zonedTime(2025, 3, 30, 'Europe/Paris').toISOString()).toBe('2025-03-29T23:00:00.000Z');
    expect(zonedTime(2025, 3, 31, 'Europe/Paris').toISOString()).toBe('2025-03-30T22:00:00.000Z');
    expect(zonedTime(2025, 11, 2, 'America/New_York', 12).toISOString()).toBe('2025-11-02T17:00:00.000Z');
  });
  it('formats in the chosen zone, not the machine zone', () => {
    const d = new Date('2025-07-01T22:30:00Z');
    expect(formatTime(d, 'UTC', 'date')).toBe('1 Jul 2025');
    expect(formatTime(d, 'Asia/Tokyo', 'date')).toBe('2 Jul 2025');
    expect(formatTime(d, 'Asia/Tokyo', 'time')).toBe('07:30');
    expect(formatTime(null, 'UTC')).toBe('—');
    expect(formatTime('garbage', 'UTC')).toBe('—');
  });
  it('round-trips datetime-local input values in a zone', () => {
    const d = new Date('2025-07-01T22:30:00Z');
    expect(toLocalInput(d, 'America/New_York')).toBe('2025-07-01T18:30');
    expect(fromLocalInput('2025-07-01T18:30', 'America/New_York')?.toISOString()).toBe(d.toISOString());
    expect(fromLocalInput('nope', 'UTC')).toBeNull();
  });
});

describe('range presets', () => {
  const now = new Date('2025-07-15T10:20:00Z');
  it('starts day presets at local midnight of the chosen zone', () => {
    expect(presetRange('today', now, 'UTC').from.toISOString()).toBe('2025-07-15T00:00:00.000Z');
    expect(presetRange('today', now, 'Asia/Tokyo').from.toISOString()).toBe('2025-07-14T15:00:00.000Z');
    expect(presetRange('7d', now, 'UTC').from.toISOString()).toBe('2025-07-09T00:00:00.000Z');
    expect(presetRange('30d', now, 'UTC').from.toISOString()).toBe('2025-06-16T00:00:00.000Z');
    expect(presetRange('7d', now, 'UTC').to).toBe(now);
  });
  it('handles months, including January', () => {
    expect(presetRange('mtd', now, 'Europe/Paris').from.toISOString()).toBe('2025-06-30T22:00:00.000Z');
    const jan = new Date('2025-01-10T12:00:00Z');
    const last = presetRange('last_month', jan, 'UTC');
    expect(last.from.toISOString()).toBe('2024-12-01T00:00:00.000Z');
    expect(last.to.toISOString()).toBe('2025-01-01T00:00:00.000Z');
  });
  it('is a rolling window for 24h', () => {
    expect(presetRange('24h', now, 'Asia/Tokyo').from.toISOString()).toBe('2025-07-14T10:20:00.000Z');
  });
  it('picks buckets by range length', () => {
    expect(bucketFor(presetRange('today', now, 'UTC'))).toBe('hour');
    expect(bucketFor(presetRange('30d', now, 'UTC'))).toBe('day');
    expect(bucketFor({ from: new Date('2024-01-01'), to: now })).toBe('month');
  });
});

describe('helpers', () => {
  const now = new Date('2025-07-15T10:00:00Z');
  it('formats API times without milliseconds', () => {
    expect(toApiTime(new Date('2025-07-15T10:20:30.456Z'))).toBe('2025-07-15T10:20:30Z');
  });
  it('rounds the (exclusive) end of a range up, so calls of the current second stay in', () => {
    expect(toApiEnd(new Date('2025-07-15T10:20:30.456Z'))).toBe('2025-07-15T10:20:31Z');
    expect(toApiEnd(new Date('2025-07-15T10:20:30.000Z'))).toBe('2025-07-15T10:20:30Z');
    expect(toApiEnd(new Date('2025-07-15T23:59:59.001Z'))).toBe('2025-07-16T00:00:00Z');
  });
  it('counts days and relative times', () => {
    expect(daysBetween('2025-05-16T10:00:00Z', now)).toBe(60);
    expect(daysBetween('2025-08-01T00:00:00Z', now)).toBe(0);
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative('2025-07-15T09:59:50Z', now)).toBe('just now');
    expect(formatRelative('2025-07-15T10:00:03Z', now)).toBe('just now');
    expect(formatRelative('2025-07-15T09:30:00Z', now)).toBe('30 min ago');
    expect(formatRelative('2025-07-15T09:00:00Z', now)).toBe('1 h ago');
    expect(formatRelative('2025-07-12T10:00:00Z', now)).toBe('3 d ago');
    expect(formatRelative('2025-07-15T12:00:00Z', now)).toBe('in 2 h');
  });
});

import { describe, expect, it } from 'vitest';
import { formatMicros, parseDollars, percentOf } from './money';

describe('formatMicros', () => {
  it('formats whole and fractional dollars with two decimals', () => {
    expect(formatMicros(0)).toBe('$0.00');
    expect(formatMicros(1_000_000)).toBe('$1.00');
    expect(formatMicros(1_234_567)).toBe('$1.23');
    expect(formatMicros(1_235_000)).toBe('$1.24'); // half up
    expect(formatMicros(1_234_567_890_123)).toBe('$1,234,567.89');
  });
  it('shows sub-cent amounts with two significant digits', () => {
    expect(formatMicros(1_500)).toBe('$0.0015');
    expect(formatMicros(1)).toBe('$0.000001');
    expect(formatMicros(9_999)).toBe('$0.0100');
    expect(formatMicros(10_000)).toBe('$0.01');
  });
  it('handles negatives, strings and bigints exactly', () => {
    expect(formatMicros(-2_500_000)).toBe('-$2.50');
    expect(formatMicros('9007199254740993')).toBe('$9,007,199,254.74');
    expect(formatMicros(12_345_678n, { decimals: 4 })).toBe('$12.3457');
    expect(formatMicros('not a number')).toBe('$0.00');
  });
  it('has a compact form for axes and tiles', () => {
    expect(formatMicros(999_000_000, { compact: true })).toBe('$999.00');
    expect(formatMicros(1_250_000_000, { compact: true })).toBe('$1.3K');
    expect(formatMicros(3_000_000_000_000, { compact: true })).toBe('$3M');
  });
});

describe('parseDollars', () => {
  it('parses typed dollars into integer micros', () => {
    expect(parseDollars('12')).toBe(12_000_000);
    expect(parseDollars('$1,200.25')).toBe(1_200_250_000);
    expect(parseDollars('0.000001')).toBe(1);
    expect(parseDollars('0.1')).toBe(100_000);
  });
  it('refuses what is not an amount', () => {
    expect(parseDollars('')).toBeNull();
    expect(parseDollars('-5')).toBeNull();
    expect(parseDollars('1.0000001')).toBeNull();
    expect(parseDollars('ten')).toBeNull();
  });
});


describe('percentOf', () => {
  it('is 0 of nothing', () => {
    expect(percentOf(5, 0)).toBe(0);
    expect(percentOf(1, 4)).toBe(25);
  });
});

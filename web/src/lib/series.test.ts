import { describe, expect, it } from 'vitest';
import { alignSeries, sortRows } from './series';
import type { UsageRow } from './types';

const row = (t: string, model: string, cost: number): UsageRow => ({
  bucket_start: t,
  group: { model },
  requests: 1,
  input_tokens: 0,
  output_tokens: 0,
  cached_input_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  errors: 0,
  cost_micros: cost,
  unpriced: 0,
});

describe('alignSeries', () => {
  it('aligns buckets, fills gaps with zero and orders by total', () => {
    const s = alignSeries(
      [row('2025-07-02T00:00:00Z', 'a', 5), row('2025-07-01T00:00:00Z', 'b', 50), row('2025-07-01T00:00:00Z', 'a', 1)],
      ['model'],
      (r) => r.cost_micros,
    );
    expect(s.x).toEqual([1751328000, 1751414400]);
    expect(s.series.map((x) => x.key)).toEqual(['b', 'a']);
    expect(s.series[0]?.values).toEqual([50, 0]);
    expect(s.series[1]?.values).toEqual([1, 5]);
  });
  it('folds the tail into "other"', () => {
    const rows = ['a', 'b', 'c'].map((m, i) => row('2025-07-01T00:00:00Z', m, 10 - i));
    const s = alignSeries(rows, ['model'], (r) => r.cost_micros, 1);
    expect(s.series.map((x) => x.key)).toEqual(['a', 'other (2)']);
    expect(s.series[1]?.values).toEqual([17]);
  });
  it('makes one total series without dimensions', () => {
    const s = alignSeries([row('2025-07-01T00:00:00Z', 'a', 3), row('2025-07-01T00:00:00Z', 'b', 4)], [], (r) => r.cost_micros);
    expect(s.series).toHaveLength(1);
    expect(s.series[0]?.values).toEqual([7]);
  });
});

describe('sortRows', () => {
  const rows = [row('2025-07-01T00:00:00Z', 'b', 5), row('2025-07-01T00:00:00Z', 'a', 50), row('2025-07-01T00:00:00Z', 'c', 5)];
  const name = (d: string, r: UsageRow) => r.group[d] ?? '';
  it('sorts by a numeric column, ties in server order', () => {
    expect(sortRows(rows, { id: 'cost_micros', desc: true }, name).map((r) => r.group.model)).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, { id: 'cost_micros', desc: false }, name).map((r) => r.group.model)).toEqual(['b', 'c', 'a']);
  });
  it('sorts by a group column by its name, and not at all without a sort', () => {
    expect(sortRows(rows, { id: 'group.model', desc: false }, name).map((r) => r.group.model)).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, null, name)).toBe(rows);
  });
});

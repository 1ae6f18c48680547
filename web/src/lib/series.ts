// Turns breakdown rows (bucket × group) into aligned chart series.

import type { UsageRow } from './types';

export interface AlignedSeries {
  /** Bucket starts, epoch seconds, ascending. */
  x: number[];
  series: { key: string; group: Record<string, string>; values: number[] }[];
}

export function groupKey(group: Record<string, string>, dims: string[]): string {
  return dims.map((d) => group[d] ?? '').join(' · ');
}

/**
 * One series per group (the `limit` largest by total, the rest summed as "other"), one point per
 * bucket; missing buckets are 0.
 */
export function alignSeries(rows: UsageRow[], dims: string[], metric: (r: UsageRow) => number, limit = 8): AlignedSeries {
  const xs = [...new Set(rows.filter((r) => r.bucket_start).map((r) => Math.floor(new Date(r.bucket_start as string).getTime() / 1000)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const totals = new Map<string, { group: Record<string, string>; total: number; values: number[] }>();
  for (const r of rows) {
    if (!r.bucket_start) continue;
    const key = dims.length ? groupKey(r.group, dims) : 'Total';
    let s = totals.get(key);
    if (!s) {
      s = { group: r.group, total: 0, values: xs.map(() => 0) };
      totals.set(key, s);
    }
    const i = index.get(Math.floor(new Date(r.bucket_start).getTime() / 1000));
    if (i === undefined) continue;
    const v = metric(r);
    s.values[i] = (s.values[i] ?? 0) + v;
    s.total += v;
  }
  const sorted = [...totals.entries()].sort((a, b) => b[1].total - a[1].total);
  const top = sorted.slice(0, limit).map(([key, s]) => ({ key, group: s.group, values: s.values }));
  const rest = sorted.slice(limit);
  if (rest.length) {
    top.push({ key: `other (${rest.length})`, group: {}, values: xs.map((_, i) => rest.reduce((a, [, s]) => a + (s.values[i] ?? 0), 0)) });
  }
  return { x: xs, series: top };
}

/**
 * Breakdown rows sorted by a table column: a group column (`group.<dim>`, by its display name)
 * or a numeric field; ties keep the server's order.
 */
export function sortRows(rows: UsageRow[], sort: { id: string; desc: boolean } | null, nameOf: (dim: string, r: UsageRow) => string): UsageRow[] {
  if (!sort) return rows;
  const dir = sort.desc ? -1 : 1;
  const key = sort.id;
  const value = key.startsWith('group.')
    ? (r: UsageRow): string | number => nameOf(key.slice(6), r).toLowerCase()
    : (r: UsageRow): string | number => {
        const v = (r as unknown as Record<string, unknown>)[key];
        return typeof v === 'number' ? v : 0;
      };
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => (a.v < b.v ? -dir : a.v > b.v ? dir : a.i - b.i))
    .map((x) => x.r);
}

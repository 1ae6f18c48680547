// Query strings for the list and analytics routes. One builder per route family, so the table,
// the chart, the drill-down and the CSV export of a page always ask for the same thing.

import { toApiEnd, toApiTime, type Bucket, type TimeRange } from './time';

export const DIMENSIONS = [
  'team',
  'project',
  'user',
  'virtual_key',
  'provider_key',
  'provider',
  'model',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const DIMENSION_LABELS: Record<Dimension, string> = {
  team: 'Team',
  project: 'Project',
  user: 'User',
  virtual_key: 'Virtual key',
  provider_key: 'Provider key',
  provider: 'Provider',
  model: 'Model',
};

/** Usage filters of every `/usage/*` route (comma-separated lists on the wire). */
export interface UsageFilters {
  team_id?: string[];
  project_id?: string[];
  user_id?: string[];
  virtual_key_id?: string[];
  provider_key_id?: string[];
  provider?: string[];
  model?: string[];
}

export const FILTER_KEYS: (keyof UsageFilters)[] = [
  'team_id',
  'project_id',
  'user_id',
  'virtual_key_id',
  'provider_key_id',
  'provider',
  'model',
];

/** Which filter narrows a dimension to one value (for drill-downs). */
export const FILTER_FOR_DIMENSION: Record<Dimension, keyof UsageFilters> = {
  team: 'team_id',
  project: 'project_id',
  user: 'user_id',
  virtual_key: 'virtual_key_id',
  provider_key: 'provider_key_id',
  provider: 'provider',
  model: 'model',
};

export interface BreakdownParams {
  range: TimeRange;
  groupBy: Dimension[];
  bucket?: Bucket | 'none';
  filters?: UsageFilters;
  pageSize?: number;
  cursor?: string;
}

function appendFilters(q: URLSearchParams, filters: UsageFilters | undefined): void {
  if (!filters) return;
  for (const key of FILTER_KEYS) {
    const values = (filters[key] ?? []).map((v) => v.trim()).filter(Boolean);
    if (values.length) q.set(key, [...new Set(values)].join(','));
  }
}

/**
 * `from=&to=&group_by=a,b&bucket=&<filters>&page_size=&cursor=` for
 * `GET /api/v1/usage/breakdown` and `/usage/timeseries`. At most 3 dimensions, no duplicates;
 * parameters with no value are left out (the gateway refuses unknown or empty ones).
 */
export function breakdownQuery(p: BreakdownParams): string {
  const q = new URLSearchParams();
  q.set('from', toApiTime(p.range.from));
  q.set('to', toApiEnd(p.range.to));
  const dims = [...new Set(p.groupBy)].slice(0, 3);
  if (dims.length) q.set('group_by', dims.join(','));
  if (p.bucket && p.bucket !== 'none') q.set('bucket', p.bucket);
  appendFilters(q, p.filters);
  if (p.pageSize) q.set('page_size', String(Math.max(1, Math.min(10_000, Math.trunc(p.pageSize)))));
  if (p.cursor) q.set('cursor', p.cursor);
  return q.toString();
}

/** `from=&to=&<filters>&status=&page_size=&cursor=` for `GET /api/v1/usage/events` (newest first). */
export function eventsQuery(p: { range: TimeRange; filters?: UsageFilters; status?: string[]; pageSize?: number; cursor?: string }): string {
  const q = new URLSearchParams();
  q.set('from', toApiTime(p.range.from));
  q.set('to', toApiEnd(p.range.to));
  appendFilters(q, p.filters);
  if (p.status?.length) q.set('status', p.status.join(','));
  if (p.pageSize) q.set('page_size', String(Math.max(1, Math.min(1000, Math.trunc(p.pageSize)))));
  if (p.cursor) q.set('cursor', p.cursor);
  return q.toString();
}

/** `/api/v1/cost/forecast?at=&<filters>`: the month-end forecast of what the filters cover. */
export function forecastPath(at: Date, filters?: UsageFilters): string {
  const q = new URLSearchParams();
  q.set('at', toApiTime(at));
  appendFilters(q, filters);
  return `/api/v1/cost/forecast?${q.toString()}`;
}

/** `YYYY-MM` of the UTC month containing `d`, moved by `offset` months. */
export function utcMonth(d: Date, offset = 0): string {
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
  return `${m.getUTCFullYear()}-${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The chargeback CSV of a UTC month, by team or project. */
export function chargebackPath(month: string, by: 'team' | 'project'): string {
  return `/api/v1/cost/chargeback.csv?month=${encodeURIComponent(month)}&by=${by}`;
}

/** `from=&to=&dimension=&limit=` for `GET /api/v1/usage/top`. */
export function topQuery(range: TimeRange, dimension: Dimension, limit = 5, filters?: UsageFilters): string {
  const q = new URLSearchParams();
  q.set('from', toApiTime(range.from));
  q.set('to', toApiEnd(range.to));
  q.set('dimension', dimension);
  q.set('limit', String(limit));
  appendFilters(q, filters);
  return q.toString();
}

/** Narrows filters to one value of a dimension: what clicking a chart series or row does. */
export function drillDown(filters: UsageFilters, dim: Dimension, value: string): UsageFilters {
  const key = FILTER_FOR_DIMENSION[dim];
  return { ...filters, [key]: [value] };
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditFilters {
  actor_id?: string;
  action?: string;
  resource_id?: string;
  outcome?: AuditOutcome | '';
  from?: Date | null;
  to?: Date | null;
}

/** `actor_id=&action=&resource_id=&outcome=&from=&to=` (+ paging) for `GET /api/v1/audit`. */
export function auditQuery(f: AuditFilters, page?: { pageSize?: number; cursor?: string }): string {
  const q = new URLSearchParams();
  for (const key of ['actor_id', 'action', 'resource_id', 'outcome'] as const) {
    const v = f[key]?.trim();
    if (v) q.set(key, v);
  }
  if (f.from) q.set('from', toApiTime(f.from));
  if (f.to) q.set('to', toApiEnd(f.to));
  if (page?.pageSize) q.set('page_size', String(Math.max(1, Math.min(500, Math.trunc(page.pageSize)))));
  if (page?.cursor) q.set('cursor', page.cursor);
  return q.toString();
}

/** The export URL for the same filters (no paging): `/api/v1/audit/export?format=csv&…`. */
export function auditExportPath(f: AuditFilters, format: 'csv' | 'ndjson'): string {
  const rest = auditQuery(f);
  return `/api/v1/audit/export?format=${format}${rest ? `&${rest}` : ''}`;
}

/** One CSV field (RFC 4180), with spreadsheet formula injection neutralised. */
export function csvField(v: string | number): string {
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document of a header and rows. */
export function toCsv(header: string[], rows: (string | number)[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Alert history filters for `GET /api/v1/alerts`. */
export function alertsQuery(f: { state?: string; severity?: string; rule_type?: string; cursor?: string; pageSize?: number }): string {
  const q = new URLSearchParams();
  if (f.state) q.set('state', f.state);
  if (f.severity) q.set('severity', f.severity);
  if (f.rule_type) q.set('rule_type', f.rule_type);
  if (f.pageSize) q.set('page_size', String(f.pageSize));
  if (f.cursor) q.set('cursor', f.cursor);
  return q.toString();
}

/** Parses `a, b ,c` into a clean list. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Validates an IPv4 or IPv6 CIDR range ("10.0.0.0/8", "2001:db8::/32"); a bare address counts as a host range. */
export function isCidr(text: string): boolean {
  const [addr, bits, extra] = text.trim().split('/');
  if (extra !== undefined || !addr) return false;
  if (addr.includes(':')) {
    if (!/^[0-9a-fA-F:]+$/.test(addr) || (addr.match(/::/g)?.length ?? 0) > 1) return false;
    const groups = addr.split(':').filter((g) => g !== '');
    if (groups.some((g) => g.length > 4) || groups.length > 8) return false;
    if (!addr.includes('::') && groups.length !== 8) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= 128);
  }
  const octets = addr.split('.');
  if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return false;
  return bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32);
}

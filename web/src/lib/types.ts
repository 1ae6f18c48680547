// Shapes of the management API (services/api-gateway/src/handlers/*.rs). Routes still being
// added (usage, cost, budgets, pricing, alerts, audit) are read through small normalizers,
// because their JSON follows the gRPC messages but field spellings may still settle.

import { readMicros } from './money';

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export interface Me {
  user_id: string;
  email: string;
  org_id: string;
  roles: { id: string; user_id: string; role: string; team_id: string | null; created_at: string }[];
  mfa: boolean;
  totp_pending: boolean;
}

export interface Org {
  id: string;
  name: string;
  require_totp: boolean;
  created_at: string;
  updated_at: string;
}

export interface Team {
  id: string;
  name: string;
  description: string;
}

export interface Project {
  id: string;
  name: string;
  description: string;
  team_id: string | null;
}

export interface Member {
  id: string;
  email: string;
  name: string;
  disabled: boolean;
  joined_at: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  team_id: string | null;
  created_at: string;
  expires_at: string;
  status: string;
}

export interface Role {
  name: string;
  builtin: boolean;
  description: string;
  permissions: { resource: string; action: string }[];
}

export interface Assignment {
  id: string;
  user_id: string;
  role: string;
  team_id: string | null;
  created_at: string;
}

export interface Scope {
  team_id?: string | null;
  project_id?: string | null;
  user_id?: string | null;
}

export interface ProviderKey {
  id: string;
  name: string;
  provider: string;
  scope: Scope;
  masked: string;
  fingerprint: string;
  status: string;
  health: string;
  health_message: string | null;
  base_url: string | null;
  version: number;
  created_by: string;
  created_at: string | null;
  last_used_at: string | null;
  last_validated_at: string | null;
  expires_at: string | null;
  grace_until: string | null;
}

export interface Validation {
  outcome: string;
  message: string;
  http_status: number;
  checked_at: string | null;
}

export interface ProviderKeyResult {
  key: ProviderKey;
  validation?: Validation;
}

export interface AccessLogEntry {
  at: string;
  actor: string;
  action: string;
  outcome: string;
  detail: string;
}

export interface VirtualKey {
  id: string;
  name: string;
  scope_kind: string;
  scope: Scope;
  key_hint: string;
  models: string[];
  providers: string[];
  allowed_cidrs: string[];
  rpm: number | null;
  tpm: number | null;
  expires_at: string | null;
  tags: Record<string, string>;
  status: string;
  previous_key_expires_at: string | null;
  created_at: string;
  updated_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
}

export interface UsageRow {
  bucket_start: string | null;
  group: Record<string, string>;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  errors: number;
  cost_micros: number;
  unpriced: number;
}

export interface UsagePage {
  rows: UsageRow[];
  next_cursor?: string;
  total?: number;
}

export interface Budget {
  id: string;
  name: string;
  scope: Scope;
  period: string;
  rolling: boolean;
  hard: boolean;
  thresholds: number[];
  amount_micros: number;
  spent_micros: number;
  reserved_micros: number;
  remaining_micros: number;
  period_start: string | null;
  period_end: string | null;
  exhausted: boolean;
}

export interface Forecast {
  spent_micros: number;
  forecast_micros: number;
  period_end: string | null;
  method: string;
  daily_rate_micros: number;
}

export interface AlertRule {
  id: string;
  name: string;
  rule_type: string;
  severity: string;
  enabled: boolean;
  channel_ids: string[];
}

export interface AlertChannel {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  hint: string;
}

export interface Alert {
  id: string;
  title: string;
  detail: string;
  state: string;
  severity: string;
  rule_type: string;
  fired_at: string | null;
  last_seen_at: string | null;
  occurrences: number;
}

export interface AuditEntry {
  seq: number;
  occurred_at: string | null;
  actor: string;
  actor_kind: string;
  action: string;
  resource_type: string;
  resource_id: string;
  outcome: string;
  reason: string;
  request_id: string;
  service: string;
  before: unknown;
  after: unknown;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  first_bad_seq: number | null;
  reason: string;
  checkpoints_checked: number;
}

export interface PriceOverride {
  id: string;
  provider: string;
  model: string;
  effective_from: string | null;
  discount_bps: number | null;
}

// ---- normalizers -------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : 0);
const optStr = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A timestamp as RFC 3339 text, or protobuf JSON `{seconds, nanos}`. */
export function readTime(v: unknown): string | null {
  if (typeof v === 'string' && v) return v;
  const o = obj(v);
  if ('seconds' in o) return new Date(num(o.seconds) * 1000 + Math.floor(num(o.nanos) / 1e6)).toISOString();
  return null;
}

/** First list found under any of `keys` (APIs answer `{items}`, `{rows}`, `{budgets}`, …). */
export function listOf(v: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(v)) return v;
  const o = obj(v);
  for (const k of [...keys, 'items']) if (Array.isArray(o[k])) return o[k] as unknown[];
  return [];
}

export function nextCursor(v: unknown): string | undefined {
  const o = obj(v);
  const c = o.next_cursor ?? obj(o.page).next_cursor;
  return typeof c === 'string' && c ? c : undefined;
}

function money(o: Obj, name: string): number {
  if (`${name}_micros` in o) return readMicros(o[`${name}_micros`]);
  return readMicros(o[name]);
}

export function toUsageRow(v: unknown): UsageRow {
  const o = obj(v);
  const group: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(o.group))) group[k] = str(val);
  return {
    bucket_start: readTime(o.bucket_start ?? o.bucket),
    group,
    requests: num(o.requests),
    input_tokens: num(o.input_tokens),
    output_tokens: num(o.output_tokens),
    cached_input_tokens: num(o.cached_input_tokens),
    errors: num(o.errors),
    cost_micros: money(o, 'cost'),
    unpriced: num(o.unpriced),
  };
}

export function toUsagePage(v: unknown): UsagePage {
  const o = obj(v);
  return {
    rows: listOf(v, 'rows').map(toUsageRow),
    next_cursor: nextCursor(v),
    total: typeof o.total === 'number' ? o.total : undefined,
  };
}

export function toBudget(v: unknown): Budget {
  const o = obj(v);
  const scope = obj(o.scope);
  return {
    id: str(o.id),
    name: str(o.name),
    scope: { team_id: optStr(scope.team_id), project_id: optStr(scope.project_id), user_id: optStr(scope.user_id) },
    period: str(o.period) || 'month',
    rolling: o.rolling === true,
    hard: o.hard === true,
    thresholds: arr(o.thresholds).map(num),
    amount_micros: money(o, 'amount'),
    spent_micros: money(o, 'spent'),
    reserved_micros: money(o, 'reserved'),
    remaining_micros: money(o, 'remaining'),
    period_start: readTime(o.period_start),
    period_end: readTime(o.period_end),
    exhausted: o.exhausted === true,
  };
}

export function budgetVirtualKey(v: unknown): string | null {
  return optStr(obj(obj(v).scope).virtual_key_id);
}

export function toForecast(v: unknown): Forecast {
  const o = obj(v);
  return {
    spent_micros: money(o, 'spent'),
    forecast_micros: money(o, 'forecast'),
    period_end: readTime(o.period_end),
    method: str(o.method),
    daily_rate_micros: money(o, 'daily_rate'),
  };
}

export function toAlertRule(v: unknown): AlertRule {
  const o = obj(v);
  return {
    id: str(o.id),
    name: str(o.name),
    rule_type: str(o.rule_type ?? o.type),
    severity: str(o.severity),
    enabled: o.enabled !== false,
    channel_ids: arr(o.channel_ids).map(str),
  };
}

export function toAlertChannel(v: unknown): AlertChannel {
  const o = obj(v);
  return { id: str(o.id), name: str(o.name), kind: str(o.kind), enabled: o.enabled !== false, hint: str(o.hint ?? o.secret_hint) };
}

export function toAlert(v: unknown): Alert {
  const o = obj(v);
  return {
    id: str(o.id),
    title: str(o.title) || str(o.rule_name) || 'Alert',
    detail: str(o.detail),
    state: str(o.state),
    severity: str(o.severity),
    rule_type: str(o.rule_type),
    fired_at: readTime(o.fired_at),
    last_seen_at: readTime(o.last_seen_at),
    occurrences: num(o.occurrences),
  };
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? null;
  if (!v) return null;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function hex(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((b) => num(b).toString(16).padStart(2, '0')).join('');
  return '';
}

/** An audit entry, flat (`{seq, action, …}`) or as the gRPC message (`{seq, event: {…}}`). */
export function toAuditEntry(v: unknown): AuditEntry {
  const o = obj(v);
  const e = 'event' in o ? obj(o.event) : o;
  const actor = obj(e.actor);
  const actorText = str(e.actor_email) || str(actor.email) || str(e.actor_id) || str(actor.id) || (typeof e.actor === 'string' ? e.actor : '');
  return {
    seq: num(o.seq),
    occurred_at: readTime(e.occurred_at),
    actor: actorText || (o.subject_readable === false ? '(erased)' : ''),
    actor_kind: str(e.actor_kind ?? actor.kind),
    action: str(e.action),
    resource_type: str(e.resource_type),
    resource_id: str(e.resource_id),
    outcome: str(e.outcome),
    reason: str(e.reason),
    request_id: str(e.request_id),
    service: str(e.service),
    before: parseJson(e.before ?? e.before_json),
    after: parseJson(e.after ?? e.after_json),
    hash: hex(o.hash),
  };
}

export function toVerify(v: unknown): VerifyResult {
  const o = obj(v);
  return {
    ok: o.ok === true,
    checked: num(o.checked),
    first_bad_seq: o.first_bad_seq === undefined || o.first_bad_seq === null ? null : num(o.first_bad_seq),
    reason: str(o.reason),
    checkpoints_checked: num(o.checkpoints_checked),
  };
}

export function toPriceOverride(v: unknown): PriceOverride {
  const o = obj(v);
  const bps = o.discount_bps ?? obj(o.adjustment).discount_bps;
  return {
    id: str(o.id),
    provider: str(o.provider),
    model: str(o.model),
    effective_from: readTime(o.effective_from),
    discount_bps: bps === undefined || bps === null ? null : num(bps),
  };
}

export function toAccessLog(v: unknown): AccessLogEntry {
  const o = obj(v);
  const actor = obj(o.actor);
  return {
    at: readTime(o.at ?? o.occurred_at ?? o.ts) ?? '',
    actor: str(o.actor_email) || str(actor.email) || str(actor.id) || str(o.actor),
    action: str(o.action),
    outcome: str(o.outcome),
    detail: str(o.reason ?? o.detail ?? o.request_id),
  };
}

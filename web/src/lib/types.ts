// The JSON of the management API, as services/api-gateway/src/handlers/*.rs serialize it. Every
// list answers `{items, next_cursor?}`; money is integer micro-dollars in `*_micros` fields;
// times are RFC 3339 strings (or null).

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
  /** Routing: higher priority first among keys of the same scope level. */
  priority: number;
  /** Routing: share of traffic among keys of the same scope level and priority (1–1000). */
  weight: number;
  rotation_period_days: number;
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
  tags: Record<string, string> | null;
  status: string;
  previous_key_expires_at: string | null;
  created_at: string;
  updated_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
}

// ---- usage and cost (handlers/usage.rs) ----------------------------------------------------

/** A row of `/usage/breakdown`, `/usage/timeseries` and `/usage/top`. */
export interface UsageRow {
  /** Absent without time buckets. */
  bucket_start?: string;
  /** Dimension → value (`""`: none). */
  group: Record<string, string>;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  unpriced: number;
  cost_micros: number;
}

/** One metered call of `/usage/events`. */
export interface UsageEvent {
  event_id: string;
  ts: string | null;
  team_id: string | null;
  project_id: string | null;
  user_id: string | null;
  virtual_key_id: string | null;
  provider_key_id: string | null;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  latency_ms: number;
  http_status: number;
  /** ok, error, rate_limited, timeout, cancelled. */
  status: string;
  request_id: string;
  endpoint: string;
  streamed: boolean;
  cost_micros: number;
  priced: boolean;
}

export interface Forecast {
  spent_micros: number;
  forecast_micros: number;
  daily_rate_micros: number;
  period_end: string | null;
  method: string;
}

export interface Recommendation {
  /** idle_key, cheaper_model, cache_opportunity. */
  kind: string;
  subject: string;
  detail: string;
  estimated_monthly_saving_micros: number;
}

// ---- budgets (handlers/budgets.rs) ---------------------------------------------------------

export interface BudgetScope {
  team_id: string | null;
  project_id: string | null;
  virtual_key_id: string | null;
}

export type Period = 'day' | 'week' | 'month';

export interface Budget {
  id: string;
  name: string;
  scope: BudgetScope;
  period: Period;
  rolling: boolean;
  amount_micros: number;
  hard: boolean;
  thresholds: number[];
  spent_micros: number;
  reserved_micros: number;
  remaining_micros: number;
  exhausted: boolean;
  period_start: string | null;
  period_end: string | null;
}

// ---- pricing (handlers/pricing.rs) ---------------------------------------------------------

/** Replacement prices, micro-dollars per 1M tokens (`request_fee`: per request). */
export interface Replacement {
  input: number;
  output: number;
  cached_input?: number | null;
  cache_write_5m?: number | null;
  cache_write_1h?: number | null;
  reasoning?: number | null;
  request_fee: number;
}

export interface ModelAlias {
  id: string;
  alias: string;
  target: string;
  created_at: string;
}

export interface PriceOverride {
  id: string;
  provider: string;
  model: string;
  effective_from: string | null;
  /** Exactly one of `discount_bps` and `replace`. */
  discount_bps?: number;
  replace?: Replacement;
}

// ---- alerts (handlers/alerts.rs, alerts/views.rs) ------------------------------------------

export interface RuleScope {
  team_id: string | null;
  project_id: string | null;
  user_id: string | null;
  virtual_key_id: string | null;
}

export interface Silence {
  from: string;
  to: string;
  comment: string;
}

export interface AlertRule {
  id: string;
  name: string;
  rule_type: string;
  scope: RuleScope;
  conditions: Record<string, unknown> | null;
  severity: string;
  channel_ids: string[];
  escalate_after_seconds: number;
  escalation_channel_ids: string[];
  dedup_window_seconds: number;
  enabled: boolean;
  silences: Silence[];
  is_default: boolean;
  created_at: string | null;
  updated_at: string | null;
}

export interface AlertChannel {
  id: string;
  name: string;
  kind: string;
  settings: Record<string, unknown> | null;
  /** e.g. `https://hooks.example.com/…`; never the secret. */
  secret_hint: string;
  enabled: boolean;
  created_at: string | null;
  updated_at: string | null;
}

export interface ChannelCreated {
  channel: AlertChannel | null;
  /** A webhook signing secret Keyward generated, shown once. */
  generated_signing_secret?: string;
}

export interface Alert {
  id: string;
  rule_id: string;
  rule_name: string;
  rule_type: string;
  fingerprint: string;
  /** firing, acknowledged, snoozed, resolved. */
  state: string;
  severity: string;
  level: number;
  title: string;
  detail: string;
  labels: Record<string, string>;
  occurrences: number;
  fired_at: string | null;
  last_seen_at: string | null;
  snoozed_until: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string;
  resolved_at: string | null;
  resolved_by: string;
  escalation_level: number;
  escalate_at: string | null;
  silenced: boolean;
}

export interface DeliveryAttempt {
  attempt: number;
  started_at: string | null;
  duration_ms: number;
  /** delivered, retry, failed. */
  outcome: string;
  http_status: number;
  error: string;
}

export interface Delivery {
  id: string;
  /** Absent for channel tests. */
  alert_id: string | null;
  channel_id: string;
  channel_kind: string;
  /** fired, refired, escalation, reminder, test; acknowledged and resolved (PagerDuty only). */
  reason: string;
  /** pending, delivered, failed. */
  status: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  last_error: string;
  last_http_status: number;
  created_at: string | null;
  finished_at: string | null;
  attempt_log: DeliveryAttempt[];
}

export interface AlertDetail {
  alert: Alert | null;
  deliveries: Delivery[];
}

export interface TestResult {
  delivered: boolean;
  detail: string;
  delivery: Delivery | null;
}

// ---- audit (handlers/audit_trail.rs) -------------------------------------------------------

export interface AuditActor {
  /** user, service, virtual_key or system. */
  kind: string;
  id: string;
  /** Absent once the subject was erased. */
  email?: string | null;
  ip?: string | null;
}

export interface AuditEntry {
  seq: number;
  event_id: string;
  occurred_at: string | null;
  recorded_at: string | null;
  actor: AuditActor | null;
  action: string;
  resource_type: string;
  resource_id: string;
  /** success, failure or denied. */
  outcome: string;
  reason: string;
  request_id: string;
  service: string;
  before?: unknown;
  after?: unknown;
  /** Hex SHA-256. */
  hash: string;
  prev_hash: string;
  subject_readable: boolean;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  checkpoints_checked: number;
  first_bad_seq: number | null;
  reason: string;
}

/** Who acted, for display: the e-mail, else the id; "(erased)" once personal data is gone. */
export function actorText(e: Pick<AuditEntry, 'actor' | 'subject_readable'>): string {
  const a = e.actor;
  if (!a) return '';
  if (a.email) return a.email;
  if (!e.subject_readable && a.kind === 'user') return '(erased)';
  return a.id;
}

/** A rule's conditions as editable JSON text (`{}` when the defaults apply). */
export function conditionsText(c: Record<string, unknown> | null | undefined): string {
  return c && Object.keys(c).length ? JSON.stringify(c, null, 2) : '{}';
}

/** Parses the conditions text of the rule form: an object, or an error message. */
export function parseConditions(text: string): { ok: true; value: Record<string, unknown> | undefined } | { ok: false; error: string } {
  const t = text.trim();
  if (!t) return { ok: true, value: undefined };
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'Conditions must be a JSON object, e.g. {"min_percent": 80}' };
  return { ok: true, value: Object.keys(v).length ? (v as Record<string, unknown>) : undefined };
}

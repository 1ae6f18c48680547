import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { navigate, useRoute } from '../app/router';
import { alertsQuery } from '../lib/query';
import { formatRelative, formatTime, fromLocalInput, toLocalInput } from '../lib/time';
import { conditionsText, type Alert, type AlertChannel, type AlertDetail, type AlertRule, type ChannelCreated, type Delivery, type Page, type Silence, type TestResult } from '../lib/types';
import { DEFAULT_CONDITIONS, RULE_TYPES, ruleBody, SEVERITIES, toMinutes } from '../lib/alerts';
import { ActionError, Empty, ErrorState, Loading, QueryView } from '../components/states';
import { Badge, CopyButton, Dialog, PageHead, StatusBadge, useToast } from '../components/ui';

type Tab = 'history' | 'rules' | 'channels' | 'deliveries';
const TABS: { id: Tab; label: string }[] = [
  { id: 'history', label: 'History' },
  { id: 'rules', label: 'Rules' },
  { id: 'channels', label: 'Channels' },
  { id: 'deliveries', label: 'Deliveries' },
];

function useChannels() {
  return useQuery({ queryKey: ['alerts', 'channels'], queryFn: async ({ signal }) => (await api.get<Page<AlertChannel>>('/api/v1/alerts/channels', signal)).items });
}

function DeliveryTable({ items, canWrite, caption }: { items: Delivery[]; canWrite: boolean; caption: string }) {
  const { tz } = useApp();
  const qc = useQueryClient();
  const toast = useToast();
  const channels = useChannels();
  const retry = useMutation({
    mutationFn: (d: Delivery) => api.post<Delivery>(`/api/v1/alerts/deliveries/${d.id}/retry`),
    onSuccess: (d) => {
      void qc.invalidateQueries({ queryKey: ['alerts'] });
      toast(`Delivery queued again (${d.status})`);
    },
  });
  return (
    <>
      <ActionError error={retry.error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Channel</th>
              <th scope="col">Reason</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>{formatTime(d.created_at, tz, 'short')}</td>
                <td>
                  {channels.data?.find((c) => c.id === d.channel_id)?.name ?? d.channel_id.slice(0, 8)} <span className="muted">{d.channel_kind}</span>
                </td>
                <td>{d.reason}</td>
                <td>
                  <StatusBadge value={d.status} />
                  {d.status === 'pending' && d.next_attempt_at && <div className="muted">next {formatTime(d.next_attempt_at, tz, 'time')}</div>}
                </td>
                <td className="num">
                  {d.attempts}/{d.max_attempts}
                </td>
                <td>
                  {d.last_error ? (
                    <details>
                      <summary>
                        {d.last_http_status ? `HTTP ${d.last_http_status}: ` : ''}
                        {d.last_error.slice(0, 60)}
                      </summary>
                      <ol>
                        {d.attempt_log.map((a) => (
                          <li key={a.attempt}>
                            {formatTime(a.started_at, tz, 'time')} · {a.outcome} {a.http_status ? `· HTTP ${a.http_status}` : ''} · {a.duration_ms} ms {a.error && `· ${a.error}`}
                          </li>
                        ))}
                      </ol>
                    </details>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>
                  {canWrite && d.status === 'failed' && (
                    <button type="button" className="small" disabled={retry.isPending} onClick={() => retry.mutate(d)} aria-label={`Retry delivery ${d.id.slice(0, 8)}`}>
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function AlertDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const { tz } = useApp();
  const canWrite = useCan('alerts', 'write', null);
  const q = useQuery({ queryKey: ['alerts', 'detail', id], queryFn: ({ signal }) => api.get<AlertDetail>(`/api/v1/alerts/${id}`, signal), refetchInterval: 10_000 });
  return (
    <Dialog drawer open onClose={onClose} title={q.data?.alert?.title || 'Alert'}>
      <QueryView q={q} what="the alert">
        {(d) => (
          <div className="stack">
            {d.alert && (
              <dl className="stack" style={{ gap: '0.35rem', margin: 0 }}>
                <div>
                  <dt className="muted">Rule</dt>
                  <dd style={{ margin: 0 }}>
                    {d.alert.rule_name} <code>{d.alert.rule_type}</code> · <StatusBadge value={d.alert.severity} /> · <StatusBadge value={d.alert.state} />
                    {d.alert.silenced && <Badge>silenced</Badge>}
                  </dd>
                </div>
                <div>
                  <dt className="muted">Detail</dt>
                  <dd style={{ margin: 0 }}>{d.alert.detail || '—'}</dd>
                </div>
                <div>
                  <dt className="muted">Fired · last seen</dt>
                  <dd style={{ margin: 0 }}>
                    {formatTime(d.alert.fired_at, tz)} · {formatTime(d.alert.last_seen_at, tz)} ({d.alert.occurrences}×)
                  </dd>
                </div>
                {d.alert.snoozed_until && (
                  <div>
                    <dt className="muted">Snoozed until</dt>
                    <dd style={{ margin: 0 }}>{formatTime(d.alert.snoozed_until, tz)}</dd>
                  </div>
                )}
                {(d.alert.acknowledged_by || d.alert.resolved_by) && (
                  <div>
                    <dt className="muted">Handled by</dt>
                    <dd style={{ margin: 0 }}>
                      {d.alert.acknowledged_by && `acknowledged by ${d.alert.acknowledged_by} ${formatTime(d.alert.acknowledged_at, tz, 'short')}`} {d.alert.resolved_by && `resolved by ${d.alert.resolved_by} ${formatTime(d.alert.resolved_at, tz, 'short')}`}
                    </dd>
                  </div>
                )}
                {Object.keys(d.alert.labels).length > 0 && (
                  <div>
                    <dt className="muted">Labels</dt>
                    <dd style={{ margin: 0 }}>
                      {Object.entries(d.alert.labels).map(([k, v]) => (
                        <Badge key={k}>
                          {k}={v}
                        </Badge>
                      ))}
                    </dd>
                  </div>
                )}
              </dl>
            )}
            <h3>Deliveries</h3>
            {d.deliveries.length === 0 ? <p className="muted">None (no enabled channel, or silenced).</p> : <DeliveryTable items={d.deliveries} canWrite={canWrite} caption="Deliveries of this alert" />}
          </div>
        )}
      </QueryView>
    </Dialog>
  );
}

function History() {
  const { tz } = useApp();
  const route = useRoute();
  const state = route.params.get('state') ?? '';
  const severity = route.params.get('severity') ?? '';
  const [cursor, setCursor] = useState<string[]>([]);
  const [snoozeFor, setSnoozeFor] = useState<Alert | null>(null);
  const [minutes, setMinutes] = useState('60');
  const qc = useQueryClient();
  const toast = useToast();
  const canAct = useCan('alerts', 'write', null);
  const open = route.params.get('alert');
  const q = useQuery({
    queryKey: ['alerts', 'history', state, severity, cursor[cursor.length - 1]],
    queryFn: async ({ signal }) => {
      const page = await api.get<Page<Alert>>(`/api/v1/alerts?${alertsQuery({ state, severity, cursor: cursor[cursor.length - 1], pageSize: 50 })}`, signal);
      return { items: page.items, next: page.next_cursor };
    },
    refetchInterval: 10_000,
  });
  const act = useMutation({
    mutationFn: ({ a, action, body }: { a: Alert; action: 'ack' | 'resolve' | 'snooze'; body?: unknown }) => api.post(`/api/v1/alerts/${a.id}/${action}`, body ?? {}),
    onSuccess: (_r, v) => {
      void qc.invalidateQueries({ queryKey: ['alerts'] });
      setSnoozeFor(null);
      toast(`Alert ${v.action === 'ack' ? 'acknowledged' : v.action === 'resolve' ? 'resolved' : 'snoozed'}`);
    },
  });
  const setFilter = (k: string, v: string) => {
    const p = new URLSearchParams(route.params);
    if (v) p.set(k, v);
    else p.delete(k);
    if (k !== 'alert') setCursor([]);
    navigate('/alerts', p, true);
  };
  return (
    <>
      <div className="row" style={{ marginBottom: '0.75rem' }}>
        <label className="field" htmlFor="al-state">
          State
          <select id="al-state" value={state} onChange={(e) => setFilter('state', e.target.value)}>
            <option value="">Any</option>
            {['firing', 'acknowledged', 'snoozed', 'resolved'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field" htmlFor="al-sev">
          Severity
          <select id="al-sev" value={severity} onChange={(e) => setFilter('severity', e.target.value)}>
            <option value="">Any</option>
            {['info', 'warning', 'critical'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <ActionError error={act.error} />
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} what="alert history" onRetry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <Empty title="No alerts" />
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Alerts</caption>
              <thead>
                <tr>
                  <th scope="col">Alert</th>
                  <th scope="col">Severity</th>
                  <th scope="col">State</th>
                  <th scope="col">Fired</th>
                  <th scope="col" className="num">Occurrences</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {q.data.items.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <button type="button" className="link" onClick={() => setFilter('alert', a.id)}>
                        <strong>{a.title || a.rule_name}</strong>
                      </button>
                      <div className="muted">
                        {a.rule_name} · {a.detail}
                      </div>
                    </td>
                    <td>
                      <StatusBadge value={a.severity} />
                    </td>
                    <td>
                      <StatusBadge value={a.state} />
                      {a.silenced && <Badge>silenced</Badge>}
                      {a.state === 'snoozed' && a.snoozed_until && <div className="muted">until {formatTime(a.snoozed_until, tz, 'short')}</div>}
                    </td>
                    <td title={formatTime(a.fired_at, tz)}>{formatRelative(a.fired_at, new Date())}</td>
                    <td className="num">{a.occurrences}</td>
                    <td>
                      {canAct && a.state !== 'resolved' && (
                        <div className="row">
                          {a.state === 'firing' && (
                            <button type="button" className="small" onClick={() => act.mutate({ a, action: 'ack' })} aria-label={`Acknowledge ${a.title}`}>
                              Acknowledge
                            </button>
                          )}
                          <button type="button" className="small" onClick={() => setSnoozeFor(a)} aria-label={`Snooze ${a.title}`}>
                            Snooze
                          </button>
                          <button type="button" className="small" onClick={() => act.mutate({ a, action: 'resolve' })} aria-label={`Resolve ${a.title}`}>
                            Resolve
                          </button>
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <button type="button" className="small" disabled={!cursor.length} onClick={() => setCursor((c) => c.slice(0, -1))}>
              Previous
            </button>
            <button type="button" className="small" disabled={!q.data.next} onClick={() => q.data.next && setCursor((c) => [...c, q.data.next as string])}>
              Next
            </button>
          </div>
        </>
      )}
      {open && <AlertDrawer id={open} onClose={() => setFilter('alert', '')} />}
      <Dialog open={snoozeFor !== null} onClose={() => setSnoozeFor(null)} title="Snooze alert">
        {snoozeFor && (
          <>
            <label className="field" htmlFor="al-min">
              Snooze for
              <select id="al-min" value={minutes} onChange={(e) => setMinutes(e.target.value)}>
                <option value="15">15 minutes</option>
                <option value="60">1 hour</option>
                <option value="240">4 hours</option>
                <option value="1440">1 day</option>
                <option value="10080">7 days</option>
              </select>
            </label>
            <div className="row end">
              <button type="button" className="primary" onClick={() => act.mutate({ a: snoozeFor, action: 'snooze', body: { minutes: Number(minutes) } })}>
                Snooze
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}

function localToIso(v: string, tz: string): string {
  return fromLocalInput(v, tz)?.toISOString() ?? '';
}

function RuleForm({ rule, channels, onDone }: { rule?: AlertRule; channels: AlertChannel[]; onDone: () => void }) {
  const { tz } = useApp();
  const qc = useQueryClient();
  const toast = useToast();
  const [type, setType] = useState(rule?.rule_type ?? 'budget');
  const [conditions, setConditions] = useState(rule ? conditionsText(rule.conditions) : JSON.stringify(DEFAULT_CONDITIONS.budget, null, 2));
  const [silences, setSilences] = useState<Silence[]>(rule?.silences ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => (rule ? api.put<AlertRule>(`/api/v1/alerts/rules/${rule.id}`, body) : api.post<AlertRule>('/api/v1/alerts/rules', body)),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] });
      toast(`Rule ${r.name} saved`);
      onDone();
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? '');
    const r = ruleBody(
      {
        name: text('name'),
        rule_type: type,
        severity: text('severity'),
        enabled: f.get('enabled') === 'on',
        conditions,
        channel_ids: f.getAll('channels').map(String),
        escalate_after_minutes: text('escalate'),
        escalation_channel_ids: f.getAll('escalation').map(String),
        dedup_window_minutes: text('dedup'),
        silences,
      },
      rule,
    );
    if ('errors' in r) {
      setErrors(r.errors);
      return;
    }
    setErrors({});
    m.mutate(r.body);
  };
  const err = (k: string) =>
    errors[k] ? (
      <span id={`r-${k}-err`} className="field-error">
        {errors[k]}
      </span>
    ) : null;
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={rule ? `Edit rule ${rule.name}` : 'New alert rule'}>
      <label className="field" htmlFor="r-name">
        Name
        <input id="r-name" name="name" required defaultValue={rule?.name} aria-invalid={errors.name ? true : undefined} aria-describedby={errors.name ? 'r-name-err' : undefined} />
        {err('name')}
      </label>
      <div className="two">
        <label className="field" htmlFor="r-type">
          Type {rule && <span className="hint">(cannot change)</span>}
          <select
            id="r-type"
            value={type}
            disabled={!!rule}
            onChange={(e) => {
              setType(e.target.value);
              setConditions(JSON.stringify(DEFAULT_CONDITIONS[e.target.value] ?? {}, null, 2));
            }}
          >
            {RULE_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field" htmlFor="r-sev">
          Severity (at least)
          <select id="r-sev" name="severity" defaultValue={rule?.severity || 'warning'}>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <label className="field" htmlFor="r-cond">
        Conditions (JSON)
        <span className="hint">See docs/alerts.md for the fields of {type}; {'{}'} uses the defaults.</span>
        <textarea id="r-cond" rows={6} className="mono" value={conditions} onChange={(e) => setConditions(e.target.value)} aria-invalid={errors.conditions ? true : undefined} aria-describedby={errors.conditions ? 'r-conditions-err' : undefined} />
        {err('conditions')}
      </label>
      <fieldset>
        <legend>Notify (none checked: every enabled channel)</legend>
        {channels.length === 0 && <span className="muted">No channels yet.</span>}
        {channels.map((c) => (
          <label key={c.id} className="check">
            <input type="checkbox" name="channels" value={c.id} defaultChecked={rule?.channel_ids.includes(c.id)} /> {c.name} <span className="muted">({c.kind})</span>
          </label>
        ))}
      </fieldset>
      <div className="two">
        <label className="field" htmlFor="r-esc">
          Escalate after (minutes unacknowledged; empty: never)
          <input id="r-esc" name="escalate" inputMode="numeric" defaultValue={toMinutes(rule?.escalate_after_seconds ?? 0)} aria-invalid={errors.escalate_after_minutes ? true : undefined} />
          {err('escalate_after_minutes')}
        </label>
        <label className="field" htmlFor="r-dedup">
          Dedup window (minutes; empty: 60)
          <input id="r-dedup" name="dedup" inputMode="numeric" defaultValue={toMinutes(rule?.dedup_window_seconds ?? 0)} aria-invalid={errors.dedup_window_minutes ? true : undefined} />
          {err('dedup_window_minutes')}
        </label>
      </div>
      <fieldset>
        <legend>Escalate to, in order</legend>
        {channels.map((c) => (
          <label key={c.id} className="check">
            <input type="checkbox" name="escalation" value={c.id} defaultChecked={rule?.escalation_channel_ids.includes(c.id)} /> {c.name}
          </label>
        ))}
        {err('escalation_channel_ids')}
      </fieldset>
      <fieldset>
        <legend>Silences ({tz})</legend>
        {silences.map((s, i) => (
          <div key={i} className="row" style={{ alignItems: 'flex-end' }}>
            <label className="field" htmlFor={`r-sf-${i}`}>
              From
              <input id={`r-sf-${i}`} type="datetime-local" value={toLocalInput(new Date(s.from), tz)} onChange={(e) => setSilences((l) => l.map((x, j) => (j === i ? { ...x, from: localToIso(e.target.value, tz) || x.from } : x)))} />
            </label>
            <label className="field" htmlFor={`r-st-${i}`}>
              To
              <input id={`r-st-${i}`} type="datetime-local" value={toLocalInput(new Date(s.to), tz)} onChange={(e) => setSilences((l) => l.map((x, j) => (j === i ? { ...x, to: localToIso(e.target.value, tz) || x.to } : x)))} />
            </label>
            <label className="field" htmlFor={`r-sc-${i}`}>
              Comment
              <input id={`r-sc-${i}`} value={s.comment} onChange={(e) => setSilences((l) => l.map((x, j) => (j === i ? { ...x, comment: e.target.value } : x)))} />
            </label>
            <button type="button" className="small" onClick={() => setSilences((l) => l.filter((_, j) => j !== i))} aria-label={`Remove silence ${i + 1}`}>
              Remove
            </button>
            {err(`silences.${i}`)}
          </div>
        ))}
        <button
          type="button"
          className="small"
          onClick={() => {
            const from = new Date();
            setSilences((l) => [...l, { from: from.toISOString(), to: new Date(from.getTime() + 3_600_000).toISOString(), comment: '' }]);
          }}
        >
          Add silence
        </button>
      </fieldset>
      <label className="check">
        <input type="checkbox" name="enabled" defaultChecked={rule?.enabled ?? true} /> Enabled
      </label>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          {rule ? 'Save rule' : 'Create rule'}
        </button>
      </div>
    </form>
  );
}

function Rules() {
  const qc = useQueryClient();
  const canWrite = useCan('alerts', 'write', null);
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);
  const rules = useQuery({ queryKey: ['alerts', 'rules'], queryFn: async ({ signal }) => (await api.get<Page<AlertRule>>('/api/v1/alerts/rules', signal)).items });
  const channels = useChannels();
  const remove = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/alerts/rules/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] }),
  });
  const channelNames = (ids: string[]) => ids.map((id) => channels.data?.find((c) => c.id === id)?.name ?? id.slice(0, 8)).join(', ');
  return (
    <>
      {canWrite && (
        <div className="row end" style={{ marginBottom: '0.75rem' }}>
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        </div>
      )}
      <ActionError error={remove.error} />
      {rules.isPending ? (
        <Loading />
      ) : rules.error ? (
        <ErrorState error={rules.error} what="alert rules" onRetry={() => void rules.refetch()} />
      ) : rules.data.length === 0 ? (
        <Empty title="No rules" />
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Alert rules</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Type</th>
                <th scope="col">Severity</th>
                <th scope="col">Channels</th>
                <th scope="col">Escalation</th>
                <th scope="col">Enabled</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id}>
                  <td>
                    {r.name} {r.is_default && <Badge>default</Badge>}
                    {r.silences.some((s) => new Date(s.from) <= new Date() && new Date() < new Date(s.to)) && <Badge tone="warn">silenced now</Badge>}
                  </td>
                  <td>
                    <code>{r.rule_type}</code>
                  </td>
                  <td>
                    <StatusBadge value={r.severity} />
                  </td>
                  <td>{r.channel_ids.length ? channelNames(r.channel_ids) : <span className="muted">all channels</span>}</td>
                  <td>{r.escalate_after_seconds ? `after ${toMinutes(r.escalate_after_seconds)} min → ${channelNames(r.escalation_channel_ids)}` : <span className="muted">none</span>}</td>
                  <td>{r.enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}</td>
                  <td>
                    {canWrite && (
                      <div className="row">
                        <button type="button" className="small" onClick={() => setEditing(r)} aria-label={`Edit rule ${r.name}`}>
                          Edit
                        </button>
                        <button type="button" className="small danger" onClick={() => remove.mutate(r.id)} aria-label={`Delete rule ${r.name}`}>
                          Delete
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={editing !== null} onClose={() => setEditing(null)} title={editing === 'new' ? 'New alert rule' : `Edit ${editing?.name ?? 'rule'}`}>
        {editing !== null && <RuleForm key={editing === 'new' ? 'new' : editing.id} rule={editing === 'new' ? undefined : editing} channels={channels.data ?? []} onDone={() => setEditing(null)} />}
      </Dialog>
    </>
  );
}

function ChannelForm({ onDone }: { onDone: (signingSecret?: string) => void }) {
  const [kind, setKind] = useState('webhook');
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: (body: unknown) => api.post<ChannelCreated>('/api/v1/alerts/channels', body),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['alerts', 'channels'] });
      onDone(r.generated_signing_secret);
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const v = (k: string) => String(f.get(k) ?? '').trim();
    const secrets: Record<string, string> =
      kind === 'webhook' ? { url: v('url') } : kind === 'slack' ? { webhook_url: v('url') } : kind === 'pagerduty' ? { routing_key: v('secret') } : v('secret') ? { password: v('secret') } : {};
    if (kind === 'webhook' && v('signing')) secrets.signing_secret = v('signing');
    const settings: Record<string, unknown> | undefined =
      kind === 'email' ? { host: v('host'), port: Number(v('port') || 587), tls: v('tls') || 'starttls', from: v('from'), to: v('to').split(/[\s,]+/).filter(Boolean), ...(v('username') ? { username: v('username') } : {}) } : undefined;
    for (const el of Array.from(form.querySelectorAll<HTMLInputElement>('input[type=password]'))) el.value = '';
    m.mutate({ name: v('name'), kind, ...(settings ? { settings } : {}), ...(Object.keys(secrets).length ? { secrets } : {}) });
  };
  return (
    <form className="form" onSubmit={submit}>
      <div className="two">
        <label className="field" htmlFor="c-name">
          Name
          <input id="c-name" name="name" required />
        </label>
        <label className="field" htmlFor="c-kind">
          Kind
          <select id="c-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="webhook">Webhook</option>
            <option value="slack">Slack</option>
            <option value="email">E-mail</option>
            <option value="pagerduty">PagerDuty</option>
          </select>
        </label>
      </div>
      {(kind === 'webhook' || kind === 'slack') && (
        <label className="field" htmlFor="c-url">
          {kind === 'slack' ? 'Incoming webhook URL' : 'URL'}
          <input id="c-url" name="url" type="password" autoComplete="off" required />
        </label>
      )}
      {kind === 'webhook' && (
        <label className="field" htmlFor="c-signing">
          Signing secret
          <span className="hint">Empty: Keyward generates one and shows it once.</span>
          <input id="c-signing" name="signing" type="password" autoComplete="off" />
        </label>
      )}
      {kind === 'pagerduty' && (
        <label className="field" htmlFor="c-secret">
          Routing key
          <input id="c-secret" name="secret" type="password" autoComplete="off" required />
        </label>
      )}
      {kind === 'email' && (
        <>
          <div className="two">
            <label className="field" htmlFor="c-host">
              SMTP host
              <input id="c-host" name="host" required />
            </label>
            <label className="field" htmlFor="c-port">
              Port
              <input id="c-port" name="port" inputMode="numeric" defaultValue="587" />
            </label>
            <label className="field" htmlFor="c-tls">
              TLS
              <select id="c-tls" name="tls" defaultValue="starttls">
                <option value="starttls">STARTTLS</option>
                <option value="tls">TLS</option>
                <option value="none">None</option>
              </select>
            </label>
          </div>
          <div className="two">
            <label className="field" htmlFor="c-user">
              Username
              <input id="c-user" name="username" autoComplete="off" />
            </label>
            <label className="field" htmlFor="c-secret">
              Password
              <input id="c-secret" name="secret" type="password" autoComplete="off" />
            </label>
          </div>
          <label className="field" htmlFor="c-from">
            From
            <input id="c-from" name="from" type="email" required />
          </label>
          <label className="field" htmlFor="c-to">
            To (comma-separated)
            <input id="c-to" name="to" required />
          </label>
        </>
      )}
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          Add channel
        </button>
      </div>
    </form>
  );
}

function Channels() {
  const qc = useQueryClient();
  const { tz } = useApp();
  const canWrite = useCan('alerts', 'write', null);
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [result, setResult] = useState<{ channel: AlertChannel; r: TestResult } | null>(null);
  const channels = useChannels();
  const test = useMutation({
    mutationFn: (c: AlertChannel) => api.post<TestResult>(`/api/v1/alerts/channels/${c.id}/test`),
    onSuccess: (r, c) => {
      setResult({ channel: c, r });
      void qc.invalidateQueries({ queryKey: ['alerts', 'deliveries'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/alerts/channels/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['alerts', 'channels'] }),
  });
  return (
    <>
      {canWrite && (
        <div className="row end" style={{ marginBottom: '0.75rem' }}>
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add channel
          </button>
        </div>
      )}
      {secret && (
        <div className="notice warn" role="status">
          <p style={{ marginTop: 0 }}>The webhook signing secret Keyward generated. It is shown this once: store it with the receiver to verify <code>X-Keyward-Signature</code>.</p>
          <div className="row">
            <code data-testid="signing-secret">{secret}</code>
            <CopyButton text={secret} />
            <button type="button" className="small" onClick={() => setSecret(null)}>
              I have saved it
            </button>
          </div>
        </div>
      )}
      {result && (
        <div className={`notice${result.r.delivered ? '' : ' warn'}`} role="status" data-testid="test-result">
          Test to <strong>{result.channel.name}</strong> {result.r.delivered ? 'was delivered' : 'failed'}
          {result.r.detail ? `: ${result.r.detail}` : ''}
          {result.r.delivery && ` (${result.r.delivery.attempts} attempt${result.r.delivery.attempts === 1 ? '' : 's'}, ${formatTime(result.r.delivery.created_at, tz, 'time')})`}{' '}
          <button type="button" className="small" onClick={() => setResult(null)}>
            Dismiss
          </button>
        </div>
      )}
      <ActionError error={test.error ?? remove.error} />
      {channels.isPending ? (
        <Loading />
      ) : channels.error ? (
        <ErrorState error={channels.error} what="alert channels" onRetry={() => void channels.refetch()} />
      ) : channels.data.length === 0 ? (
        <Empty title="No channels yet">
          <p>Add a webhook, Slack, e-mail or PagerDuty channel to be notified.</p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Alert channels</caption>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Enabled</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {channels.data.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>{c.kind}</td>
                  <td>
                    <code>{c.secret_hint || '—'}</code>
                  </td>
                  <td>{c.enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}</td>
                  <td>
                    {canWrite && (
                      <div className="row">
                        <button type="button" className="small" disabled={test.isPending} onClick={() => test.mutate(c)} aria-label={`Test send to ${c.name}`}>
                          Test send
                        </button>
                        <button type="button" className="small danger" onClick={() => remove.mutate(c.id)} aria-label={`Delete channel ${c.name}`}>
                          Delete
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={adding} onClose={() => setAdding(false)} title="Add a channel">
        {adding && (
          <ChannelForm
            onDone={(s) => {
              setAdding(false);
              if (s) setSecret(s);
            }}
          />
        )}
      </Dialog>
    </>
  );
}

function Deliveries() {
  const route = useRoute();
  const status = route.params.get('status') ?? '';
  const canWrite = useCan('alerts', 'write', null);
  const [cursor, setCursor] = useState<string[]>([]);
  const q = useQuery({
    queryKey: ['alerts', 'deliveries', status, cursor[cursor.length - 1]],
    queryFn: ({ signal }) => {
      const p = new URLSearchParams({ page_size: '50' });
      if (status) p.set('status', status);
      const c = cursor[cursor.length - 1];
      if (c) p.set('cursor', c);
      return api.get<Page<Delivery>>(`/api/v1/alerts/deliveries?${p.toString()}`, signal);
    },
    refetchInterval: 10_000,
  });
  return (
    <>
      <label className="field" htmlFor="dl-status" style={{ maxWidth: '14rem', marginBottom: '0.75rem' }}>
        Status
        <select
          id="dl-status"
          value={status}
          onChange={(e) => {
            setCursor([]);
            navigate('/alerts', { tab: 'deliveries', status: e.target.value || undefined }, true);
          }}
        >
          <option value="">Any</option>
          {['pending', 'delivered', 'failed'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <QueryView q={q} what="deliveries" isEmpty={(d) => d.items.length === 0} empty={<Empty title="No deliveries" />}>
        {(page) => (
          <>
            <DeliveryTable items={page.items} canWrite={canWrite} caption="Alert deliveries" />
            <div className="pager">
              <button type="button" className="small" disabled={!cursor.length} onClick={() => setCursor((c) => c.slice(0, -1))}>
                Previous
              </button>
              <button type="button" className="small" disabled={!page.next_cursor} onClick={() => page.next_cursor && setCursor((c) => [...c, page.next_cursor as string])}>
                Next
              </button>
            </div>
          </>
        )}
      </QueryView>
    </>
  );
}

export default function Alerts() {
  const route = useRoute();
  const tab = (route.params.get('tab') as Tab | null) ?? 'history';
  return (
    <>
      <PageHead title="Alerts" sub="Budget, key-health, anomaly and traffic alerts, where they are sent, and what happened." />
      <div role="tablist" aria-label="Alert views" className="row" style={{ marginBottom: '1rem' }}>
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            className={tab === t.id ? 'primary' : undefined}
            onClick={() => navigate('/alerts', { tab: t.id === 'history' ? undefined : t.id }, true)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'history' ? <History /> : tab === 'rules' ? <Rules /> : tab === 'channels' ? <Channels /> : <Deliveries />}
      </div>
    </>
  );
}

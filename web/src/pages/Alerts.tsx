import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { navigate, useRoute } from '../app/router';
import { alertsQuery } from '../lib/query';
import { formatRelative, formatTime } from '../lib/time';
import { listOf, nextCursor, toAlert, toAlertChannel, toAlertRule, type Alert, type AlertChannel } from '../lib/types';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { Badge, Dialog, PageHead, StatusBadge, useToast } from '../components/ui';

type Tab = 'history' | 'rules' | 'channels';
const TABS: { id: Tab; label: string }[] = [
  { id: 'history', label: 'History' },
  { id: 'rules', label: 'Rules' },
  { id: 'channels', label: 'Channels' },
];
const RULE_TYPES = ['budget', 'key_health', 'access_anomaly', 'spend_spike', 'error_rate', 'latency_p95'];

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
  const canBudgets = useCan('budgets', 'write');
  const canKeys = useCan('provider_keys', 'write');
  const canAct = canBudgets || canKeys;
  const q = useQuery({
    queryKey: ['alerts', 'history', state, severity, cursor[cursor.length - 1]],
    queryFn: async ({ signal }) => {
      const raw = await api.get<unknown>(`/api/v1/alerts?${alertsQuery({ state, severity, cursor: cursor[cursor.length - 1], pageSize: 50 })}`, signal);
      return { items: listOf(raw, 'alerts').map(toAlert), next: nextCursor(raw) };
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
    setCursor([]);
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
                      <strong>{a.title}</strong>
                      <div className="muted">{a.detail}</div>
                    </td>
                    <td>
                      <StatusBadge value={a.severity} />
                    </td>
                    <td>
                      <StatusBadge value={a.state} />
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

function Rules() {
  const qc = useQueryClient();
  const canWrite = useCan('budgets', 'write');
  const [creating, setCreating] = useState(false);
  const rules = useQuery({ queryKey: ['alerts', 'rules'], queryFn: async ({ signal }) => listOf(await api.get<unknown>('/api/v1/alerts/rules', signal), 'rules').map(toAlertRule) });
  const channels = useQuery({ queryKey: ['alerts', 'channels'], queryFn: async ({ signal }) => listOf(await api.get<unknown>('/api/v1/alerts/channels', signal), 'channels').map(toAlertChannel) });
  const create = useMutation({
    mutationFn: (body: unknown) => api.post('/api/v1/alerts/rules', body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] });
      setCreating(false);
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/alerts/rules/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['alerts', 'rules'] }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: String(f.get('name') ?? ''), rule_type: String(f.get('type') ?? 'budget'), severity: String(f.get('severity') ?? 'warning'), channel_ids: f.getAll('channels').map(String) });
  };
  return (
    <>
      {canWrite && (
        <div className="row end" style={{ marginBottom: '0.75rem' }}>
          <button type="button" className="primary" onClick={() => setCreating(true)}>
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
                <th scope="col">Enabled</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>
                    <code>{r.rule_type}</code>
                  </td>
                  <td>
                    <StatusBadge value={r.severity} />
                  </td>
                  <td>{r.channel_ids.length ? r.channel_ids.map((id) => channels.data?.find((c) => c.id === id)?.name ?? id.slice(0, 8)).join(', ') : <span className="muted">all channels</span>}</td>
                  <td>{r.enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}</td>
                  <td>
                    {canWrite && (
                      <button type="button" className="small danger" onClick={() => remove.mutate(r.id)} aria-label={`Delete rule ${r.name}`}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={creating} onClose={() => setCreating(false)} title="New alert rule">
        <form className="form" onSubmit={submit}>
          <label className="field" htmlFor="r-name">
            Name
            <input id="r-name" name="name" required />
          </label>
          <div className="two">
            <label className="field" htmlFor="r-type">
              Type
              <select id="r-type" name="type">
                {RULE_TYPES.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </label>
            <label className="field" htmlFor="r-sev">
              Severity
              <select id="r-sev" name="severity" defaultValue="warning">
                <option>info</option>
                <option>warning</option>
                <option>critical</option>
              </select>
            </label>
          </div>
          <fieldset>
            <legend>Channels (none: every channel)</legend>
            {(channels.data ?? []).map((c) => (
              <label key={c.id} className="check">
                <input type="checkbox" name="channels" value={c.id} /> {c.name}
              </label>
            ))}
          </fieldset>
          <p className="muted">Conditions start at the documented defaults.</p>
          <ActionError error={create.error} />
          <div className="row end">
            <button type="submit" className="primary" disabled={create.isPending}>
              Create rule
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

function ChannelForm({ onDone }: { onDone: () => void }) {
  const [kind, setKind] = useState('webhook');
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: (body: unknown) => api.post('/api/v1/alerts/channels', body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['alerts', 'channels'] });
      onDone();
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const v = (k: string) => String(f.get(k) ?? '').trim();
    const secrets: Record<string, string> =
      kind === 'webhook' ? { url: v('url') } : kind === 'slack' ? { webhook_url: v('url') } : kind === 'pagerduty' ? { routing_key: v('secret') } : v('secret') ? { password: v('secret') } : {};
    const settings: Record<string, unknown> = kind === 'email' ? { host: v('host'), port: Number(v('port') || 587), from: v('from'), to: v('to').split(/[\s,]+/).filter(Boolean), ...(v('username') ? { username: v('username') } : {}) } : {};
    for (const el of Array.from(form.querySelectorAll<HTMLInputElement>('input[type=password]'))) el.value = '';
    m.mutate({ name: v('name'), kind, settings, secrets });
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
  const toast = useToast();
  const canWrite = useCan('budgets', 'write');
  const [adding, setAdding] = useState(false);
  const channels = useQuery({ queryKey: ['alerts', 'channels'], queryFn: async ({ signal }) => listOf(await api.get<unknown>('/api/v1/alerts/channels', signal), 'channels').map(toAlertChannel) });
  const test = useMutation({
    mutationFn: (c: AlertChannel) => api.post<{ delivered?: boolean; detail?: string }>(`/api/v1/alerts/channels/${c.id}/test`),
    onSuccess: (r, c) => toast(r?.delivered === false ? `Test to ${c.name} failed: ${r.detail ?? ''}` : `Test sent to ${c.name}${r?.detail ? `: ${r.detail}` : ''}`, r?.delivered === false ? 'bad' : undefined),
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
                    <code>{c.hint || '—'}</code>
                  </td>
                  <td>{c.enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}</td>
                  <td>
                    <div className="row">
                      <button type="button" className="small" disabled={test.isPending} onClick={() => test.mutate(c)} aria-label={`Test send to ${c.name}`}>
                        Test send
                      </button>
                      {canWrite && (
                        <button type="button" className="small danger" onClick={() => remove.mutate(c.id)} aria-label={`Delete channel ${c.name}`}>
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={adding} onClose={() => setAdding(false)} title="Add a channel">
        {adding && <ChannelForm onDone={() => setAdding(false)} />}
      </Dialog>
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
        {tab === 'history' ? <History /> : tab === 'rules' ? <Rules /> : <Channels />}
      </div>
    </>
  );
}

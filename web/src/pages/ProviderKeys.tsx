import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { useProviderKeys } from '../lib/hooks';
import { rotationState } from '../lib/rotation';
import { daysBetween, formatRelative, formatTime } from '../lib/time';
import { actorText, type AuditEntry, type Page, type ProviderKey, type ProviderKeyResult, type Validation } from '../lib/types';
import { DataTable } from '../components/DataTable';
import { ActionError, Empty, ErrorState, Loading, QueryView } from '../components/states';
import { Badge, Dialog, PageHead, StatusBadge, useToast } from '../components/ui';
import { ScopeFields, ScopeText, scopeFromForm } from '../components/ScopePicker';
import { PROVIDERS } from '../lib/providers';

/** The secret fields of a provider. Inputs are uncontrolled: secrets never enter React state. */
function SecretFields({ provider, idPrefix }: { provider: string; idPrefix: string }) {
  const secret = (name: string, label: string, hint?: string, type = 'password') => (
    <label className="field" htmlFor={`${idPrefix}-${name}`}>
      {label}
      {hint && <span className="hint">{hint}</span>}
      <input id={`${idPrefix}-${name}`} name={name} type={type} autoComplete="off" spellCheck={false} required />
    </label>
  );
  if (provider === 'bedrock')
    return (
      <>
        <div className="two">
          {secret('aws_access_key_id', 'AWS access key id', undefined, 'text')}
          {secret('aws_secret_access_key', 'AWS secret access key')}
        </div>
        {secret('aws_region', 'AWS region', 'For example us-east-1.', 'text')}
      </>
    );
  if (provider === 'azure')
    return (
      <>
        {secret('api_key', 'API key')}
        <div className="two">
          {secret('endpoint', 'Resource endpoint', 'https://NAME.openai.azure.com', 'url')}
          {secret('api_version', 'API version', 'For example 2024-10-21.', 'text')}
        </div>
      </>
    );
  return secret('api_key', 'API key', 'Stored encrypted; never shown again.');
}

type SecretBody = string | Record<string, string>;

function secretFromForm(provider: string, f: FormData): SecretBody {
  const v = (k: string) => String(f.get(k) ?? '').trim();
  if (provider === 'bedrock') return { aws_access_key_id: v('aws_access_key_id'), aws_secret_access_key: v('aws_secret_access_key'), aws_region: v('aws_region') };
  if (provider === 'azure') return { api_key: v('api_key'), endpoint: v('endpoint'), api_version: v('api_version') };
  return v('api_key');
}

function AddKey({ onDone }: { onDone: (r: ProviderKeyResult) => void }) {
  const [provider, setProvider] = useState('openai');
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: (body: unknown) => api.post<ProviderKeyResult>('/api/v1/provider-keys', body),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['provider-keys'] });
      onDone(r);
    },
  });
  const needsBase = provider === 'openai_compatible';
  const allowsBase = provider !== 'azure' && provider !== 'bedrock';
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const base = String(f.get('base_url') ?? '').trim();
    const body = {
      name: String(f.get('name') ?? '').trim(),
      provider,
      secret: secretFromForm(provider, f),
      ...(scopeFromForm(f) ? { scope: scopeFromForm(f) } : {}),
      ...(allowsBase && base ? { base_url: base } : {}),
      validate: f.get('validate') === 'on',
    };
    // Clear the secret inputs at once; the request body is the only copy left.
    for (const el of Array.from(form.querySelectorAll<HTMLInputElement>('input[type=password]'))) el.value = '';
    m.mutate(body);
  };
  return (
    <form className="form" onSubmit={submit} aria-label="Add a provider key">
      <div className="two">
        <label className="field" htmlFor="pk-name">
          Name
          <input id="pk-name" name="name" required maxLength={100} />
        </label>
        <label className="field" htmlFor="pk-provider">
          Provider
          <select id="pk-provider" name="provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <SecretFields provider={provider} idPrefix="pk" />
      {allowsBase && (
        <label className="field" htmlFor="pk-base">
          Base URL {needsBase ? '' : '(optional)'}
          <span className="hint">{needsBase ? 'The server speaking the OpenAI API, e.g. http://vllm:8000/v1.' : 'Only to reach the provider through a proxy.'}</span>
          <input id="pk-base" name="base_url" type="url" required={needsBase} placeholder="https://…" />
        </label>
      )}
      <ScopeFields idPrefix="pk" />
      <label className="check">
        <input type="checkbox" name="validate" defaultChecked /> Check the key with the provider before storing it
      </label>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          {m.isPending ? 'Saving…' : 'Add key'}
        </button>
      </div>
    </form>
  );
}

function RotateKey({ k, onDone }: { k: ProviderKey; onDone: (r: ProviderKeyResult) => void }) {
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: (body: unknown) => api.post<ProviderKeyResult>(`/api/v1/provider-keys/${k.id}/rotate`, body),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['provider-keys'] });
      onDone(r);
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body = { secret: secretFromForm(k.provider, f), grace_seconds: Number(f.get('grace') ?? 0), validate: f.get('validate') === 'on' };
    for (const el of Array.from(form.querySelectorAll<HTMLInputElement>('input[type=password]'))) el.value = '';
    m.mutate(body);
  };
  return (
    <form className="form" onSubmit={submit} aria-label={`Rotate ${k.name}`}>
      <SecretFields provider={k.provider} idPrefix="rot" />
      <label className="field" htmlFor="rot-grace">
        Grace period
        <span className="hint">How long the current secret keeps working, so clients in flight finish.</span>
        <select id="rot-grace" name="grace" defaultValue="3600">
          <option value="0">None: switch now</option>
          <option value="900">15 minutes</option>
          <option value="3600">1 hour</option>
          <option value="86400">24 hours</option>
          <option value="604800">7 days</option>
        </select>
      </label>
      <label className="check">
        <input type="checkbox" name="validate" defaultChecked /> Validate the new secret first
      </label>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          Rotate
        </button>
      </div>
    </form>
  );
}

/** Name, routing and rotation period of a stored key (never its secret: that is Rotate). */
function EditKey({ k, onDone }: { k: ProviderKey; onDone: (k: ProviderKey) => void }) {
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: (body: unknown) => api.patch<ProviderKey>(`/api/v1/provider-keys/${k.id}`, body),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['provider-keys'] });
      onDone(r);
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    m.mutate({
      name: String(f.get('name') ?? '').trim(),
      priority: Number(f.get('priority')),
      weight: Number(f.get('weight')),
      rotation_period_days: Number(f.get('rotation')),
    });
  };
  return (
    <form className="form" onSubmit={submit} aria-label={`Edit ${k.name}`}>
      <label className="field" htmlFor="ed-name">
        Name
        <input id="ed-name" name="name" required maxLength={100} defaultValue={k.name} />
      </label>
      <div className="two">
        <label className="field" htmlFor="ed-priority">
          Priority
          <span className="hint">Keys of higher priority are used first (−1000 to 1000).</span>
          <input id="ed-priority" name="priority" type="number" required min={-1000} max={1000} step={1} defaultValue={k.priority} />
        </label>
        <label className="field" htmlFor="ed-weight">
          Weight
          <span className="hint">Share of traffic among keys of the same priority (1 to 1000).</span>
          <input id="ed-weight" name="weight" type="number" required min={1} max={1000} step={1} defaultValue={k.weight} />
        </label>
      </div>
      <label className="field" htmlFor="ed-rotation">
        Rotation period (days)
        <span className="hint">After this many days the key is reported due for rotation.</span>
        <input id="ed-rotation" name="rotation" type="number" required min={1} max={3650} step={1} defaultValue={k.rotation_period_days || 90} />
      </label>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          {m.isPending ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

function AccessLog({ k }: { k: ProviderKey }) {
  const { tz } = useApp();
  const q = useQuery({
    queryKey: ['provider-keys', k.id, 'access-log'],
    queryFn: async ({ signal }) => (await api.get<Page<AuditEntry>>(`/api/v1/provider-keys/${k.id}/access-log`, signal)).items,
  });
  return (
    <QueryView q={q} what="the access log" isEmpty={(d) => d.length === 0} empty={<Empty title="No access recorded yet" />}>
      {(rows) => (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Access log of {k.name}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.seq}>
                  <td>{formatTime(r.occurred_at, tz, 'short')}</td>
                  <td>{actorText(r) || '—'}</td>
                  <td>
                    <code>{r.action}</code>
                  </td>
                  <td>
                    <StatusBadge value={r.outcome} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </QueryView>
  );
}

type Panel = { kind: 'add' } | { kind: 'edit'; key: ProviderKey } | { kind: 'rotate'; key: ProviderKey } | { kind: 'revoke'; key: ProviderKey } | { kind: 'log'; key: ProviderKey } | null;

export default function ProviderKeys() {
  const { tz } = useApp();
  const canWrite = useCan('provider_keys', 'write');
  const keys = useProviderKeys();
  const [panel, setPanel] = useState<Panel>(null);
  const [result, setResult] = useState<ProviderKeyResult | null>(null);
  const toast = useToast();
  const qc = useQueryClient();
  const revoke = useMutation({
    mutationFn: (id: string) => api.post<ProviderKey>(`/api/v1/provider-keys/${id}/revoke`),
    onSuccess: (k) => {
      void qc.invalidateQueries({ queryKey: ['provider-keys'] });
      toast(`Revoked ${k.name}`);
      setPanel(null);
    },
  });

  const validate = useMutation({
    mutationFn: (k: ProviderKey) => api.post<Validation>(`/api/v1/provider-keys/${k.id}/validate`),
    onSuccess: (v, k) => {
      void qc.invalidateQueries({ queryKey: ['provider-keys'] });
      toast(`${k.name}: ${v.outcome.replace(/_/g, ' ')}${v.message ? ` — ${v.message}` : ''}`, v.outcome === 'valid' ? undefined : 'bad');
    },
    onError: (e, k) => toast(`${k.name}: ${e instanceof Error ? e.message : 'validation failed'}`, 'bad'),
  });

  const columns = useMemo<ColumnDef<ProviderKey, unknown>[]>(() => {
    const now = new Date();
    return [
      { header: 'Name', accessorKey: 'name', cell: (c) => <strong>{c.row.original.name}</strong> },
      { header: 'Provider', accessorKey: 'provider', cell: (c) => PROVIDERS.find((p) => p.id === c.row.original.provider)?.label ?? c.row.original.provider },
      { header: 'Scope', id: 'scope', enableSorting: false, cell: (c) => <ScopeText scope={c.row.original.scope} /> },
      { header: 'Key', accessorKey: 'masked', enableSorting: false, cell: (c) => <code aria-label="masked key">{c.row.original.masked}</code> },
      { header: 'Status', accessorKey: 'status', cell: (c) => <StatusBadge value={c.row.original.status} /> },
      {
        header: 'Health',
        accessorKey: 'health',
        cell: (c) => (
          <span title={c.row.original.health_message ?? undefined}>
            <StatusBadge value={c.row.original.health || 'unchecked'} />
          </span>
        ),
      },
      {
        header: 'Routing',
        id: 'routing',
        accessorFn: (k) => k.priority * 10_000 + k.weight,
        meta: { numeric: true },
        cell: (c) => (
          <span title="priority · weight">
            {c.row.original.priority} · {c.row.original.weight}
          </span>
        ),
      },
      {
        header: 'Age',
        id: 'age',
        accessorFn: (k) => (k.created_at ? daysBetween(k.created_at, now) : 0),
        meta: { numeric: true },
        cell: (c) => {
          const r = rotationState(c.row.original, now);
          return (
            <span>
              {r.ageDays} d{' '}
              {r.level === 'due' && <Badge tone="warn">{r.label}</Badge>}
              {r.level === 'overdue' && <Badge tone="bad">{r.label}</Badge>}
            </span>
          );
        },
      },
      {
        header: 'Last used',
        accessorKey: 'last_used_at',
        cell: (c) => <span title={formatTime(c.row.original.last_used_at, tz)}>{formatRelative(c.row.original.last_used_at, now)}</span>,
      },
      {
        header: 'Actions',
        id: 'actions',
        enableSorting: false,
        cell: (c) => {
          const k = c.row.original;
          const active = k.status === 'active' || k.status === 'grace';
          return (
            <div className="row">
              <button type="button" className="small" onClick={() => setPanel({ kind: 'log', key: k })} aria-label={`Access log of ${k.name}`}>
                Access log
              </button>
              {canWrite && active && (
                <>
                  <button type="button" className="small" onClick={() => validate.mutate(k)} aria-label={`Validate ${k.name} now`}>
                    Validate
                  </button>
                  <button type="button" className="small" onClick={() => setPanel({ kind: 'edit', key: k })} aria-label={`Edit ${k.name}`}>
                    Edit
                  </button>
                  <button type="button" className="small" onClick={() => setPanel({ kind: 'rotate', key: k })} aria-label={`Rotate ${k.name}`}>
                    Rotate
                  </button>
                  <button type="button" className="small danger" onClick={() => setPanel({ kind: 'revoke', key: k })} aria-label={`Revoke ${k.name}`}>
                    Revoke
                  </button>
                </>
              )}
            </div>
          );
        },
      },
    ];
  }, [tz, canWrite]);

  const done = (r: ProviderKeyResult) => {
    setPanel(null);
    setResult(r);
    toast(`Saved ${r.key.name}`);
  };

  return (
    <>
      <PageHead title="Provider keys" sub="API keys of your LLM providers, stored encrypted in the vault. Secrets are never shown again.">
        {canWrite && (
          <button type="button" className="primary" onClick={() => setPanel({ kind: 'add' })}>
            Add provider key
          </button>
        )}
      </PageHead>
      {result && (
        <div className="notice" role="status" style={{ marginBottom: '1rem' }}>
          <strong>{result.key.name}</strong> saved (<code>{result.key.masked}</code>).
          {result.validation && (
            <>
              {' '}
              Validation: <StatusBadge value={result.validation.outcome} /> {result.validation.message}
            </>
          )}{' '}
          <button type="button" className="link" onClick={() => setResult(null)}>
            Dismiss
          </button>
        </div>
      )}
      {keys.isPending ? (
        <Loading label="Loading provider keys…" />
      ) : keys.error ? (
        <ErrorState error={keys.error} what="provider keys" onRetry={() => void keys.refetch()} />
      ) : keys.data.length === 0 ? (
        <Empty title="No provider keys yet">
          <p>Add your OpenAI, Anthropic or other provider key; apps then use virtual keys instead of it.</p>
        </Empty>
      ) : (
        <DataTable data={keys.data} columns={columns} caption="Provider keys" getRowId={(k) => k.id} />
      )}
      <Dialog open={panel?.kind === 'add'} onClose={() => setPanel(null)} title="Add a provider key">
        <AddKey onDone={done} />
      </Dialog>
      <Dialog open={panel?.kind === 'edit'} onClose={() => setPanel(null)} title={panel?.kind === 'edit' ? `Edit ${panel.key.name}` : 'Edit'}>
        {panel?.kind === 'edit' && (
          <EditKey
            k={panel.key}
            onDone={(k) => {
              setPanel(null);
              toast(`Saved ${k.name}: priority ${k.priority}, weight ${k.weight}`);
            }}
          />
        )}
      </Dialog>
      <Dialog open={panel?.kind === 'rotate'} onClose={() => setPanel(null)} title={panel?.kind === 'rotate' ? `Rotate ${panel.key.name}` : 'Rotate'}>
        {panel?.kind === 'rotate' && <RotateKey k={panel.key} onDone={done} />}
      </Dialog>
      <Dialog open={panel?.kind === 'revoke'} onClose={() => setPanel(null)} title="Revoke provider key">
        {panel?.kind === 'revoke' && (
          <>
            <p>
              Revoke <strong>{panel.key.name}</strong> (<code>{panel.key.masked}</code>)? Requests routed to it stop at once. This cannot be undone.
            </p>
            <ActionError error={revoke.error} />
            <div className="row end">
              <button type="button" onClick={() => setPanel(null)}>
                Cancel
              </button>
              <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(panel.key.id)}>
                Revoke key
              </button>
            </div>
          </>
        )}
      </Dialog>
      <Dialog drawer open={panel?.kind === 'log'} onClose={() => setPanel(null)} title={panel?.kind === 'log' ? `Access log · ${panel.key.name}` : 'Access log'}>
        {panel?.kind === 'log' && <AccessLog k={panel.key} />}
      </Dialog>
    </>
  );
}

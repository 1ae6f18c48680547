import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { useVirtualKeys } from '../lib/hooks';
import { isCidr, splitList } from '../lib/query';
import { formatRelative, formatTime, fromLocalInput, toLocalInput } from '../lib/time';
import type { VirtualKey } from '../lib/types';
import { DataTable } from '../components/DataTable';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { CopyButton, Dialog, PageHead, StatusBadge, useToast } from '../components/ui';
import { ScopeFields, ScopeText, scopeFromForm } from '../components/ScopePicker';
import { PROVIDERS } from '../lib/providers';

interface Revealed {
  name: string;
  key: string;
  note?: string;
}

/** The new key, shown this once. It lives only in this component's state until dismissed. */
function ShowOnce({ revealed, onDismiss }: { revealed: Revealed; onDismiss: () => void }) {
  useEffect(() => {
    // Do not keep a secret on screen indefinitely.
    const t = setTimeout(onDismiss, 10 * 60_000);
    return () => clearTimeout(t);
  }, [onDismiss]);
  return (
    <section className="secret-once" aria-labelledby="once-title" role="region">
      <h2 id="once-title" style={{ margin: 0 }}>
        Copy the key for “{revealed.name}” now
      </h2>
      <p style={{ margin: 0 }}>This is the only time it is shown. Keyward stores only a keyed hash of it.</p>
      <code data-testid="new-virtual-key">{revealed.key}</code>
      {revealed.note && <p style={{ margin: 0 }}>{revealed.note}</p>}
      <div className="row">
        <CopyButton text={revealed.key} label="Copy key" />
        <button type="button" className="primary small" onClick={onDismiss}>
          I have saved it
        </button>
      </div>
    </section>
  );
}

/** Create (no `initial`) or edit a key's name, limits, models, providers, IP ranges and expiry. */
function KeyForm({ initial, onCreated, onSaved }: { initial?: VirtualKey; onCreated?: (r: Revealed) => void; onSaved?: () => void }) {
  const { tz } = useApp();
  const qc = useQueryClient();
  const [cidrError, setCidrError] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: async (body: Record<string, unknown>): Promise<{ key?: string }> =>
      initial ? (await api.patch<VirtualKey>(`/api/v1/virtual-keys/${initial.id}`, body), {}) : api.post<{ id: string; key: string }>('/api/v1/virtual-keys', body),
    onSuccess: (r, body) => {
      void qc.invalidateQueries({ queryKey: ['virtual-keys'] });
      if (initial) onSaved?.();
      else if (r.key) onCreated?.({ name: String(body.name), key: r.key });
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const cidrs = splitList(String(f.get('cidrs') ?? ''));
    const bad = cidrs.filter((c) => !isCidr(c));
    if (bad.length) {
      setCidrError(`Not a CIDR range: ${bad.join(', ')}`);
      return;
    }
    setCidrError(null);
    const num = (k: string) => {
      const v = String(f.get(k) ?? '').trim();
      return v ? Number(v) : null;
    };
    const expires = String(f.get('expires') ?? '');
    const expiresAt = expires ? fromLocalInput(expires, tz) : null;
    const models = splitList(String(f.get('models') ?? ''));
    const providers = f.getAll('providers').map(String);
    if (initial) {
      // A partial update: lists are replaced, `null` clears a limit or the expiry.
      m.mutate({
        name: String(f.get('name') ?? '').trim(),
        models,
        providers,
        allowed_cidrs: cidrs,
        rpm: num('rpm'),
        tpm: num('tpm'),
        expires_at: expiresAt ? expiresAt.toISOString() : null,
      });
      return;
    }
    m.mutate({
      name: String(f.get('name') ?? '').trim(),
      ...(scopeFromForm(f) ? { scope: scopeFromForm(f) } : {}),
      ...(models.length ? { models } : {}),
      ...(providers.length ? { providers } : {}),
      ...(cidrs.length ? { allowed_cidrs: cidrs } : {}),
      ...(num('rpm') !== null ? { rpm: num('rpm') } : {}),
      ...(num('tpm') !== null ? { tpm: num('tpm') } : {}),
      ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
    });
  };
  return (
    <form className="form" onSubmit={submit} aria-label={initial ? `Edit ${initial.name}` : 'Create a virtual key'}>
      <label className="field" htmlFor="vk-name">
        Name
        <input id="vk-name" name="name" required maxLength={100} defaultValue={initial?.name} />
      </label>
      {!initial && <ScopeFields idPrefix="vk" />}
      <label className="field" htmlFor="vk-models">
        Allowed models
        <span className="hint">Comma-separated, e.g. gpt-4o-mini, claude-3-5-haiku. Empty: every model.</span>
        <input id="vk-models" name="models" defaultValue={initial?.models.join(', ')} />
      </label>
      <fieldset>
        <legend>Allowed providers (none checked: all)</legend>
        <div className="row">
          {PROVIDERS.map((p) => (
            <label key={p.id} className="check">
              <input type="checkbox" name="providers" value={p.id} defaultChecked={initial?.providers.includes(p.id)} /> {p.label}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="two">
        <label className="field" htmlFor="vk-rpm">
          Requests per minute
          <input id="vk-rpm" name="rpm" type="number" min={1} inputMode="numeric" defaultValue={initial?.rpm ?? undefined} />
        </label>
        <label className="field" htmlFor="vk-tpm">
          Tokens per minute
          <input id="vk-tpm" name="tpm" type="number" min={1} inputMode="numeric" defaultValue={initial?.tpm ?? undefined} />
        </label>
      </div>
      <label className="field" htmlFor="vk-cidrs">
        Client IP ranges (CIDR)
        <span className="hint">Comma or line separated, e.g. 10.0.0.0/8. Empty: any address.</span>
        <textarea
          id="vk-cidrs"
          name="cidrs"
          defaultValue={initial?.allowed_cidrs.join(', ')}
          aria-invalid={cidrError ? true : undefined}
          aria-describedby={cidrError ? 'vk-cidr-err' : undefined}
        />
        {cidrError && (
          <span id="vk-cidr-err" className="field-error">
            {cidrError}
          </span>
        )}
      </label>
      <label className="field" htmlFor="vk-exp">
        Expires ({tz})
        <input id="vk-exp" name="expires" type="datetime-local" defaultValue={initial?.expires_at ? toLocalInput(new Date(initial.expires_at), tz) : undefined} />
      </label>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          {m.isPending ? 'Saving…' : initial ? 'Save changes' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

type Panel = { kind: 'create' } | { kind: 'edit'; key: VirtualKey } | { kind: 'rotate'; key: VirtualKey } | { kind: 'revoke'; key: VirtualKey } | null;

export default function VirtualKeys() {
  const { tz } = useApp();
  const canWrite = useCan('virtual_keys', 'write');
  const keys = useVirtualKeys();
  const [panel, setPanel] = useState<Panel>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [grace, setGrace] = useState('3600');
  const toast = useToast();
  const qc = useQueryClient();
  const rotate = useMutation({
    mutationFn: (k: VirtualKey) => api.post<{ id: string; key: string; previous_key_expires_at: string | null }>(`/api/v1/virtual-keys/${k.id}/rotate`, { grace_seconds: Number(grace) }),
    onSuccess: (r, k) => {
      void qc.invalidateQueries({ queryKey: ['virtual-keys'] });
      setPanel(null);
      setRevealed({
        name: k.name,
        key: r.key,
        note: r.previous_key_expires_at ? `The previous key works until ${formatTime(r.previous_key_expires_at, tz)}.` : 'The previous key stopped working.',
      });
    },
  });
  const revoke = useMutation({
    mutationFn: (k: VirtualKey) => api.post<VirtualKey>(`/api/v1/virtual-keys/${k.id}/revoke`),
    onSuccess: (k) => {
      void qc.invalidateQueries({ queryKey: ['virtual-keys'] });
      setPanel(null);
      toast(`Revoked ${k.name}`);
    },
  });
  // Leaving the page forgets a shown key.
  useEffect(() => () => setRevealed(null), []);

  const columns = useMemo<ColumnDef<VirtualKey, unknown>[]>(() => {
    const now = new Date();
    return [
      { header: 'Name', accessorKey: 'name', cell: (c) => <strong>{c.row.original.name}</strong> },
      { header: 'Key', accessorKey: 'key_hint', enableSorting: false, cell: (c) => <code>{c.row.original.key_hint}</code> },
      { header: 'Scope', id: 'scope', enableSorting: false, cell: (c) => <ScopeText scope={c.row.original.scope} /> },
      { header: 'Status', accessorKey: 'status', cell: (c) => <StatusBadge value={c.row.original.status} /> },
      {
        header: 'Limits',
        id: 'limits',
        enableSorting: false,
        cell: (c) => {
          const k = c.row.original;
          const parts = [k.rpm ? `${k.rpm} rpm` : '', k.tpm ? `${k.tpm.toLocaleString('en-US')} tpm` : ''].filter(Boolean);
          return parts.join(' · ') || <span className="muted">none</span>;
        },
      },
      {
        header: 'Models',
        id: 'models',
        enableSorting: false,
        cell: (c) => (c.row.original.models.length ? c.row.original.models.join(', ') : <span className="muted">all</span>),
      },
      {
        header: 'IP ranges',
        id: 'cidrs',
        enableSorting: false,
        cell: (c) => (c.row.original.allowed_cidrs.length ? c.row.original.allowed_cidrs.join(', ') : <span className="muted">any</span>),
      },
      { header: 'Expires', accessorKey: 'expires_at', cell: (c) => (c.row.original.expires_at ? formatTime(c.row.original.expires_at, tz, 'date') : <span className="muted">never</span>) },
      { header: 'Created', accessorKey: 'created_at', cell: (c) => formatRelative(c.row.original.created_at, now) },
      {
        header: 'Actions',
        id: 'actions',
        enableSorting: false,
        cell: (c) => {
          const k = c.row.original;
          if (!canWrite || k.status === 'revoked') return null;
          return (
            <div className="row">
              <button type="button" className="small" onClick={() => setPanel({ kind: 'edit', key: k })} aria-label={`Edit ${k.name}`}>
                Edit
              </button>
              <button type="button" className="small" onClick={() => setPanel({ kind: 'rotate', key: k })} aria-label={`Rotate ${k.name}`}>
                Rotate
              </button>
              <button type="button" className="small danger" onClick={() => setPanel({ kind: 'revoke', key: k })} aria-label={`Revoke ${k.name}`}>
                Revoke
              </button>
            </div>
          );
        },
      },
    ];
  }, [tz, canWrite]);

  return (
    <>
      <PageHead title="Virtual keys" sub="Keys your apps, agents and teams use instead of provider keys, with their own limits.">
        {canWrite && (
          <button type="button" className="primary" onClick={() => setPanel({ kind: 'create' })}>
            Create virtual key
          </button>
        )}
      </PageHead>
      {revealed && (
        <div style={{ marginBottom: '1rem' }}>
          <ShowOnce revealed={revealed} onDismiss={() => setRevealed(null)} />
        </div>
      )}
      {keys.isPending ? (
        <Loading label="Loading virtual keys…" />
      ) : keys.error ? (
        <ErrorState error={keys.error} what="virtual keys" onRetry={() => void keys.refetch()} />
      ) : keys.data.length === 0 ? (
        <Empty title="No virtual keys yet">
          <p>Create one for each app or team; send it as the OpenAI API key to this gateway.</p>
        </Empty>
      ) : (
        <DataTable data={keys.data} columns={columns} caption="Virtual keys" getRowId={(k) => k.id} />
      )}
      <Dialog open={panel?.kind === 'create'} onClose={() => setPanel(null)} title="Create a virtual key">
        <KeyForm
          onCreated={(r) => {
            setPanel(null);
            setRevealed(r);
          }}
        />
      </Dialog>
      <Dialog open={panel?.kind === 'edit'} onClose={() => setPanel(null)} title={panel?.kind === 'edit' ? `Edit ${panel.key.name}` : 'Edit'}>
        {panel?.kind === 'edit' && (
          <KeyForm
            initial={panel.key}
            onSaved={() => {
              setPanel(null);
              toast('Saved');
            }}
          />
        )}
      </Dialog>
      <Dialog open={panel?.kind === 'rotate'} onClose={() => setPanel(null)} title="Rotate virtual key">
        {panel?.kind === 'rotate' && (
          <>
            <p>
              Issue a new key for <strong>{panel.key.name}</strong>. The new key is shown once.
            </p>
            <label className="field" htmlFor="vk-grace">
              Old key keeps working for
              <select id="vk-grace" value={grace} onChange={(e) => setGrace(e.target.value)}>
                <option value="0">No grace: stop now</option>
                <option value="3600">1 hour</option>
                <option value="86400">24 hours</option>
                <option value="604800">7 days</option>
              </select>
            </label>
            <ActionError error={rotate.error} />
            <div className="row end">
              <button type="button" onClick={() => setPanel(null)}>
                Cancel
              </button>
              <button type="button" className="primary" disabled={rotate.isPending} onClick={() => rotate.mutate(panel.key)}>
                Rotate
              </button>
            </div>
          </>
        )}
      </Dialog>
      <Dialog open={panel?.kind === 'revoke'} onClose={() => setPanel(null)} title="Revoke virtual key">
        {panel?.kind === 'revoke' && (
          <>
            <p>
              Revoke <strong>{panel.key.name}</strong> (<code>{panel.key.key_hint}</code>)? It stops working at once, everywhere.
            </p>
            <ActionError error={revoke.error} />
            <div className="row end">
              <button type="button" onClick={() => setPanel(null)}>
                Cancel
              </button>
              <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(panel.key)}>
                Revoke key
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}

import { useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { api, download } from '../lib/api';
import { useApp } from '../app/context';
import { navigate, useRoute } from '../app/router';
import { auditExportPath, auditQuery, type AuditFilters, type AuditOutcome } from '../lib/query';
import { formatTime, fromLocalInput } from '../lib/time';
import { actorText, type AuditEntry, type Page, type VerifyResult } from '../lib/types';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { Dialog, JsonView, PageHead, StatusBadge } from '../components/ui';

function filtersFrom(p: URLSearchParams, tz: string): AuditFilters {
  return {
    actor_id: p.get('actor_id') ?? '',
    action: p.get('action') ?? '',
    resource_id: p.get('resource_id') ?? '',
    outcome: (p.get('outcome') ?? '') as AuditOutcome | '',
    from: p.get('from') ? fromLocalInput(p.get('from') ?? '', tz) : null,
    to: p.get('to') ? fromLocalInput(p.get('to') ?? '', tz) : null,
  };
}

async function verifyChain(): Promise<VerifyResult> {
  // `GET /api/v1/audit/verify` re-hashes the whole chain of the org and checks its signatures.
  return api.get<VerifyResult>('/api/v1/audit/verify');
}

export default function Audit() {
  const { tz } = useApp();
  const route = useRoute();
  const filters = filtersFrom(route.params, tz);
  const [cursors, setCursors] = useState<string[]>([]);
  const [open, setOpen] = useState<AuditEntry | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const q = useQuery({
    queryKey: ['audit', route.params.toString(), cursors[cursors.length - 1]],
    queryFn: async ({ signal }) => {
      const page = await api.get<Page<AuditEntry>>(`/api/v1/audit?${auditQuery(filters, { pageSize: 50, cursor: cursors[cursors.length - 1] })}`, signal);
      return { entries: page.items, next: page.next_cursor };
    },
    refetchInterval: 10_000,
    placeholderData: keepPreviousData,
  });
  const verify = useMutation({ mutationFn: verifyChain });

  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const p = new URLSearchParams();
    for (const k of ['actor_id', 'action', 'resource_id', 'outcome', 'from', 'to']) {
      const v = String(f.get(k) ?? '').trim();
      if (v) p.set(k, v);
    }
    setCursors([]);
    navigate('/audit', p, true);
  };
  const exportAs = async (format: 'csv' | 'ndjson') => {
    setExportError(null);
    try {
      await download(auditExportPath(filters, format), `keyward-audit-${new Date().toISOString().slice(0, 10)}.${format === 'csv' ? 'csv' : 'ndjson'}`);
    } catch (e) {
      setExportError(e);
    }
  };

  return (
    <>
      <PageHead title="Audit log" sub="Every key access, sign-in and admin change, hash-chained and signed.">
        <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
          {verify.isPending ? 'Verifying…' : 'Verify chain'}
        </button>
        <button type="button" onClick={() => void exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => void exportAs('ndjson')}>
          Export NDJSON
        </button>
      </PageHead>
      <ActionError error={exportError} />
      {verify.error ? <ErrorState error={verify.error} what="chain verification" /> : null}
      {verify.data && (
        <div className={`notice${verify.data.ok ? '' : ' warn'}`} role="status" data-testid="verify-result" style={{ marginBottom: '1rem' }}>
          {verify.data.ok ? (
            <>
              <strong>Chain verified.</strong> {verify.data.checked.toLocaleString('en-US')} entries and {verify.data.checkpoints_checked} signed checkpoints check out.
            </>
          ) : (
            <>
              <strong>Chain broken</strong>
              {verify.data.first_bad_seq !== null ? ` at entry ${verify.data.first_bad_seq}` : ''}: {verify.data.reason}
            </>
          )}
        </div>
      )}
      <form className="card form" onSubmit={apply} style={{ marginBottom: '1rem' }} aria-label="Audit filters" key={route.params.toString()}>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <label className="field" htmlFor="a-action">
            Action
            <input id="a-action" name="action" defaultValue={filters.action} placeholder="e.g. virtual_key.create" />
          </label>
          <label className="field" htmlFor="a-actor">
            Actor id
            <input id="a-actor" name="actor_id" defaultValue={filters.actor_id} />
          </label>
          <label className="field" htmlFor="a-res">
            Resource or key id
            <input id="a-res" name="resource_id" defaultValue={filters.resource_id} />
          </label>
          <label className="field" htmlFor="a-outcome">
            Outcome
            <select id="a-outcome" name="outcome" defaultValue={filters.outcome}>
              <option value="">Any</option>
              <option value="success">success</option>
              <option value="failure">failure</option>
              <option value="denied">denied</option>
            </select>
          </label>
          <label className="field" htmlFor="a-from">
            From ({tz})
            <input id="a-from" name="from" type="datetime-local" defaultValue={route.params.get('from') ?? ''} />
          </label>
          <label className="field" htmlFor="a-to">
            To
            <input id="a-to" name="to" type="datetime-local" defaultValue={route.params.get('to') ?? ''} />
          </label>
          <button type="submit" className="primary">
            Apply
          </button>
        </div>
      </form>
      {q.isPending ? (
        <Loading label="Loading the audit log…" />
      ) : q.error ? (
        <ErrorState error={q.error} what="the audit log" onRetry={() => void q.refetch()} />
      ) : q.data.entries.length === 0 ? (
        <Empty title="No entries match" />
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Audit entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col" className="num">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {q.data.entries.map((e) => (
                  <tr
                    key={e.seq}
                    className="clickable"
                    tabIndex={0}
                    aria-label={`Entry ${e.seq}: ${e.action}, open details`}
                    onClick={() => setOpen(e)}
                    onKeyDown={(ev) => {
                      if (ev.key === 'Enter' || ev.key === ' ') {
                        ev.preventDefault();
                        setOpen(e);
                      }
                    }}
                  >
                    <td className="num">{e.seq}</td>
                    <td>{formatTime(e.occurred_at, tz, 'short')}</td>
                    <td>{actorText(e) || <span className="muted">{e.actor?.kind || '—'}</span>}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>
                      {e.resource_type} <span className="muted mono">{e.resource_id.slice(0, 13)}</span>
                    </td>
                    <td>
                      <StatusBadge value={e.outcome} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <button type="button" className="small" disabled={!cursors.length} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Newer
            </button>
            <button type="button" className="small" disabled={!q.data.next} onClick={() => q.data.next && setCursors((c) => [...c, q.data.next as string])}>
              Older
            </button>
          </div>
        </>
      )}
      <Dialog drawer open={open !== null} onClose={() => setOpen(null)} title={open ? `Entry ${open.seq}` : 'Entry'}>
        {open && (
          <>
            <dl className="stack" style={{ gap: '0.35rem', margin: 0 }}>
              <div>
                <dt className="muted">Action</dt>
                <dd style={{ margin: 0 }}>
                  <code>{open.action}</code> · <StatusBadge value={open.outcome} />
                </dd>
              </div>
              <div>
                <dt className="muted">When</dt>
                <dd style={{ margin: 0 }}>{formatTime(open.occurred_at, tz)}</dd>
              </div>
              <div>
                <dt className="muted">Actor</dt>
                <dd style={{ margin: 0 }}>
                  {actorText(open) || '—'} {open.actor?.kind && <span className="muted">({open.actor.kind})</span>}
                </dd>
              </div>
              <div>
                <dt className="muted">Resource</dt>
                <dd style={{ margin: 0 }}>
                  {open.resource_type} <code>{open.resource_id}</code>
                </dd>
              </div>
              {open.reason && (
                <div>
                  <dt className="muted">Reason</dt>
                  <dd style={{ margin: 0 }}>{open.reason}</dd>
                </div>
              )}
              <div>
                <dt className="muted">Request · service</dt>
                <dd style={{ margin: 0 }}>
                  <code>{open.request_id || '—'}</code> · {open.service}
                </dd>
              </div>
              {open.hash && (
                <div>
                  <dt className="muted">Hash</dt>
                  <dd style={{ margin: 0, wordBreak: 'break-all' }}>
                    <code>{open.hash}</code>
                  </dd>
                </div>
              )}
            </dl>
            <div className="diff">
              <JsonView label="Before" value={open.before} />
              <JsonView label="After" value={open.after} />
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}

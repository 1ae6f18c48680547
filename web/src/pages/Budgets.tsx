import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { formatMicros, parseDollars, percentOf } from '../lib/money';
import { formatTime, toApiTime } from '../lib/time';
import { budgetVirtualKey, listOf, toBudget, toForecast, type Budget } from '../lib/types';
import { useTeams, useProjects, useVirtualKeys } from '../lib/hooks';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { Badge, Dialog, Meter, PageHead, useToast } from '../components/ui';

function scopeQuery(b: Budget, vk: string | null): string {
  if (vk) return `virtual_key_ids=${vk}`;
  if (b.scope.project_id) return `project_ids=${b.scope.project_id}`;
  if (b.scope.team_id) return `team_ids=${b.scope.team_id}`;
  return '';
}

function BudgetForecast({ b, vk }: { b: Budget; vk: string | null }) {
  const q = useQuery({
    queryKey: ['budgets', 'forecast', b.id],
    queryFn: async ({ signal }) => {
      const s = scopeQuery(b, vk);
      return toForecast(await api.get<unknown>(`/api/v1/cost/forecast?at=${toApiTime(new Date())}${s ? `&${s}` : ''}`, signal));
    },
    enabled: b.period === 'month' && !b.rolling,
    refetchInterval: 60_000,
  });
  if (b.period !== 'month' || b.rolling) return <span className="muted">—</span>;
  if (q.isPending) return <span className="muted">…</span>;
  if (q.error || !q.data) return <span className="muted" title={q.error instanceof Error ? q.error.message : undefined}>n/a</span>;
  const over = q.data.forecast_micros > b.amount_micros;
  return <span className={over ? 'field-error' : undefined}>{formatMicros(q.data.forecast_micros)}{over ? ' (over)' : ''}</span>;
}

function BudgetForm({ onDone, budget }: { onDone: () => void; budget?: Budget }) {
  const qc = useQueryClient();
  const teams = useTeams();
  const projects = useProjects();
  const vkeys = useVirtualKeys();
  const [scopeKind, setScopeKind] = useState<'org' | 'team' | 'project' | 'virtual_key'>('org');
  const [amountError, setAmountError] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => (budget ? api.patch(`/api/v1/budgets/${budget.id}`, body) : api.post('/api/v1/budgets', body)),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['budgets'] });
      onDone();
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const amount = parseDollars(String(f.get('amount') ?? ''));
    if (amount === null || amount <= 0) {
      setAmountError('Enter an amount in dollars, e.g. 250 or 99.50');
      return;
    }
    setAmountError(null);
    const thresholds = String(f.get('thresholds') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0 && n <= 1000);
    const body: Record<string, unknown> = {
      name: String(f.get('name') ?? '').trim(),
      amount_micros: amount,
      hard: f.get('hard') === 'on',
      thresholds: thresholds.length ? thresholds : [50, 80, 100],
    };
    if (!budget) {
      body.period = String(f.get('period') ?? 'month');
      body.rolling = f.get('rolling') === 'on';
      const target = String(f.get('target') ?? '');
      if (scopeKind !== 'org' && target) body.scope = { [`${scopeKind}_id`]: target };
    }
    m.mutate(body);
  };
  const targets = scopeKind === 'team' ? teams.data : scopeKind === 'project' ? projects.data : scopeKind === 'virtual_key' ? vkeys.data : [];
  return (
    <form className="form" onSubmit={submit} aria-label={budget ? 'Edit budget' : 'Create a budget'}>
      <label className="field" htmlFor="b-name">
        Name
        <input id="b-name" name="name" required defaultValue={budget?.name} maxLength={100} />
      </label>
      {!budget && (
        <div className="two">
          <label className="field" htmlFor="b-scope">
            Applies to
            <select id="b-scope" value={scopeKind} onChange={(e) => setScopeKind(e.target.value as typeof scopeKind)}>
              <option value="org">The whole organization</option>
              <option value="team">A team</option>
              <option value="project">A project</option>
              <option value="virtual_key">A virtual key</option>
            </select>
          </label>
          {scopeKind !== 'org' && (
            <label className="field" htmlFor="b-target">
              Which
              <select id="b-target" name="target" required>
                {(targets ?? []).map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
      <div className="two">
        <label className="field" htmlFor="b-amount">
          Amount (USD)
          <input
            id="b-amount"
            name="amount"
            inputMode="decimal"
            required
            defaultValue={budget ? (budget.amount_micros / 1_000_000).toString() : ''}
            aria-invalid={amountError ? true : undefined}
            aria-describedby={amountError ? 'b-amount-err' : undefined}
          />
          {amountError && (
            <span id="b-amount-err" className="field-error">
              {amountError}
            </span>
          )}
        </label>
        {!budget && (
          <label className="field" htmlFor="b-period">
            Period (UTC)
            <select id="b-period" name="period" defaultValue="month">
              <option value="day">Day</option>
              <option value="week">Week (ISO, from Monday)</option>
              <option value="month">Month</option>
            </select>
          </label>
        )}
      </div>
      <label className="field" htmlFor="b-thresholds">
        Alert thresholds (%)
        <input id="b-thresholds" name="thresholds" defaultValue={(budget?.thresholds.length ? budget.thresholds : [50, 80, 100]).join(', ')} />
      </label>
      <div className="row">
        {!budget && (
          <label className="check">
            <input type="checkbox" name="rolling" /> Rolling window (last 24 h / 7 d / 30 d)
          </label>
        )}
        <label className="check">
          <input type="checkbox" name="hard" defaultChecked={budget?.hard ?? true} /> Hard limit: refuse requests once spent
        </label>
      </div>
      <ActionError error={m.error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={m.isPending}>
          {budget ? 'Save' : 'Create budget'}
        </button>
      </div>
    </form>
  );
}

export default function Budgets() {
  const { tz } = useApp();
  const canWrite = useCan('budgets', 'write');
  const teams = useTeams();
  const projects = useProjects();
  const vkeys = useVirtualKeys();
  const [panel, setPanel] = useState<{ kind: 'create' } | { kind: 'edit'; b: Budget } | { kind: 'delete'; b: Budget } | null>(null);
  const qc = useQueryClient();
  const toast = useToast();
  const q = useQuery({
    queryKey: ['budgets'],
    queryFn: async ({ signal }) => listOf(await api.get<unknown>('/api/v1/budgets', signal), 'budgets').map((raw) => ({ b: toBudget(raw), vk: budgetVirtualKey(raw) })),
    refetchInterval: 3_000,
  });
  const del = useMutation({
    mutationFn: (b: Budget) => api.del(`/api/v1/budgets/${b.id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['budgets'] });
      setPanel(null);
      toast('Budget deleted');
    },
  });
  const scopeName = (b: Budget, vk: string | null) =>
    vk
      ? `Virtual key ${vkeys.data?.find((k) => k.id === vk)?.name ?? vk.slice(0, 8)}`
      : b.scope.project_id
        ? `Project ${projects.data?.find((p) => p.id === b.scope.project_id)?.name ?? ''}`
        : b.scope.team_id
          ? `Team ${teams.data?.find((t) => t.id === b.scope.team_id)?.name ?? ''}`
          : 'Organization';

  return (
    <>
      <PageHead title="Budgets" sub="Spend is recomputed from metered usage; in-flight requests are reserved against every budget in scope.">
        {canWrite && (
          <button type="button" className="primary" onClick={() => setPanel({ kind: 'create' })}>
            Create budget
          </button>
        )}
      </PageHead>
      {q.isPending ? (
        <Loading label="Loading budgets…" />
      ) : q.error ? (
        <ErrorState error={q.error} what="budgets" onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <Empty title="No budgets yet">
          <p>Set a monthly budget for the organization, a team or a key; hard budgets stop spending at the limit.</p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Budgets</caption>
            <thead>
              <tr>
                <th scope="col">Budget</th>
                <th scope="col">Period</th>
                <th scope="col" style={{ minWidth: 180 }}>
                  Used
                </th>
                <th scope="col" className="num">Spent</th>
                <th scope="col" className="num">Reserved</th>
                <th scope="col" className="num">Remaining</th>
                <th scope="col" className="num">Amount</th>
                <th scope="col" className="num">Forecast</th>
                <th scope="col">Thresholds</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {q.data.map(({ b, vk }) => (
                <tr key={b.id} data-testid={`budget-${b.name}`}>
                  <td>
                    <strong>{b.name}</strong>
                    <div className="muted">{scopeName(b, vk)}</div>
                  </td>
                  <td>
                    {b.rolling ? 'rolling ' : ''}
                    {b.period}
                    <div className="muted">{b.period_end ? `until ${formatTime(b.period_end, tz, 'short')}` : ''}</div>
                  </td>
                  <td>
                    <Meter spent={b.spent_micros} reserved={b.reserved_micros} total={b.amount_micros} thresholds={b.thresholds} label={`${b.name}: ${percentOf(b.spent_micros, b.amount_micros).toFixed(0)}% used`} />
                    <div className="muted" data-testid="budget-percent">
                      {percentOf(b.spent_micros, b.amount_micros).toFixed(1)}% {b.exhausted && <Badge tone="bad">exhausted</Badge>} {b.hard ? <Badge>hard</Badge> : <Badge>soft</Badge>}
                    </div>
                  </td>
                  <td className="num" data-testid="budget-spent">{formatMicros(b.spent_micros)}</td>
                  <td className="num">{formatMicros(b.reserved_micros)}</td>
                  <td className="num">{formatMicros(b.remaining_micros)}</td>
                  <td className="num">{formatMicros(b.amount_micros)}</td>
                  <td className="num">
                    <BudgetForecast b={b} vk={vk} />
                  </td>
                  <td>
                    <div className="row">
                      {b.thresholds.map((t) => (
                        <Badge key={t} tone={percentOf(b.spent_micros, b.amount_micros) >= t ? (t >= 100 ? 'bad' : 'warn') : undefined}>
                          {t}%
                        </Badge>
                      ))}
                    </div>
                  </td>
                  <td>
                    {canWrite && (
                      <div className="row">
                        <button type="button" className="small" onClick={() => setPanel({ kind: 'edit', b })} aria-label={`Edit ${b.name}`}>
                          Edit
                        </button>
                        <button type="button" className="small danger" onClick={() => setPanel({ kind: 'delete', b })} aria-label={`Delete ${b.name}`}>
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
      <Dialog open={panel?.kind === 'create'} onClose={() => setPanel(null)} title="Create a budget">
        {panel?.kind === 'create' && <BudgetForm onDone={() => setPanel(null)} />}
      </Dialog>
      <Dialog open={panel?.kind === 'edit'} onClose={() => setPanel(null)} title="Edit budget">
        {panel?.kind === 'edit' && <BudgetForm budget={panel.b} onDone={() => setPanel(null)} />}
      </Dialog>
      <Dialog open={panel?.kind === 'delete'} onClose={() => setPanel(null)} title="Delete budget">
        {panel?.kind === 'delete' && (
          <>
            <p>
              Delete <strong>{panel.b.name}</strong>? Its limit stops applying at once.
            </p>
            <ActionError error={del.error} />
            <div className="row end">
              <button type="button" onClick={() => setPanel(null)}>
                Cancel
              </button>
              <button type="button" className="danger" onClick={() => del.mutate(panel.b)} disabled={del.isPending}>
                Delete
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}

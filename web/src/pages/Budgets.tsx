import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { href } from '../app/router';
import { formatMicros, percentOf } from '../lib/money';
import { formatTime } from '../lib/time';
import { forecastPath } from '../lib/query';
import { budgetBody, budgetFilters, scopeKind } from '../lib/budgets';
import type { Budget, Forecast } from '../lib/types';
import { useBudgets, useTeams, useProjects, useVirtualKeys } from '../lib/hooks';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { Badge, Dialog, Meter, PageHead, useToast } from '../components/ui';

/** Month-end forecast of the spend the budget covers (`/cost/forecast` forecasts calendar months). */
function BudgetForecast({ b }: { b: Budget }) {
  const monthly = b.period === 'month' && !b.rolling;
  const q = useQuery({
    queryKey: ['budgets', 'forecast', b.id],
    queryFn: ({ signal }) => api.get<Forecast>(forecastPath(new Date(), budgetFilters(b.scope)), signal),
    enabled: monthly,
    refetchInterval: 60_000,
  });
  if (!monthly) return <span className="muted" title="Forecasts cover calendar months">—</span>;
  if (q.isPending) return <span className="muted">…</span>;
  if (q.error) return <span className="muted" title={q.error instanceof Error ? q.error.message : undefined}>n/a</span>;
  const over = q.data.forecast_micros > b.amount_micros;
  return (
    <span className={over ? 'field-error' : undefined} title={`${formatMicros(q.data.daily_rate_micros)}/day (${q.data.method.replace(/_/g, ' ')})`} data-testid="budget-forecast">
      {formatMicros(q.data.forecast_micros)}
      {over ? ' (over)' : ''}
    </span>
  );
}

function FieldError({ id, text }: { id: string; text?: string }) {
  return text ? (
    <span id={id} className="field-error">
      {text}
    </span>
  ) : null;
}

function BudgetForm({ onDone, budget }: { onDone: () => void; budget?: Budget }) {
  const qc = useQueryClient();
  const toast = useToast();
  const teams = useTeams();
  const projects = useProjects();
  const vkeys = useVirtualKeys();
  const [kind, setKind] = useState<string>('org');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => (budget ? api.patch<Budget>(`/api/v1/budgets/${budget.id}`, body) : api.post<Budget>('/api/v1/budgets', body)),
    onSuccess: (b) => {
      void qc.invalidateQueries({ queryKey: ['budgets'] });
      toast(budget ? `Budget ${b.name} saved` : `Budget ${b.name} created`);
      onDone();
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? '');
    const r = budgetBody(
      { name: text('name'), amount: text('amount'), period: text('period'), rolling: f.get('rolling') === 'on', hard: f.get('hard') === 'on', thresholds: text('thresholds'), scopeKind: kind, target: text('target') },
      budget,
    );
    if ('errors' in r) {
      setErrors(r.errors);
      return;
    }
    setErrors({});
    if (budget && Object.keys(r.body).length === 0) {
      onDone();
      return;
    }
    m.mutate(r.body);
  };
  const targets = kind === 'team' ? teams.data : kind === 'project' ? projects.data : kind === 'virtual_key' ? vkeys.data : [];
  const invalid = (k: string) => (errors[k] ? { 'aria-invalid': true as const, 'aria-describedby': `b-${k}-err` } : {});
  return (
    <form className="form" onSubmit={submit} aria-label={budget ? 'Edit budget' : 'Create a budget'} noValidate>
      <label className="field" htmlFor="b-name">
        Name
        <input id="b-name" name="name" required defaultValue={budget?.name} maxLength={100} {...invalid('name')} />
        <FieldError id="b-name-err" text={errors.name} />
      </label>
      {!budget && (
        <div className="two">
          <label className="field" htmlFor="b-scope">
            Applies to
            <select id="b-scope" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="org">The whole organization</option>
              <option value="team">A team</option>
              <option value="project">A project</option>
              <option value="virtual_key">A virtual key</option>
            </select>
          </label>
          {kind !== 'org' && (
            <label className="field" htmlFor="b-target">
              Which
              <select id="b-target" name="target" required {...invalid('target')}>
                {(targets ?? []).map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
              <FieldError id="b-target-err" text={errors.target} />
            </label>
          )}
        </div>
      )}
      <div className="two">
        <label className="field" htmlFor="b-amount">
          Amount (USD)
          <input id="b-amount" name="amount" inputMode="decimal" required defaultValue={budget ? (budget.amount_micros / 1_000_000).toString() : ''} {...invalid('amount')} />
          <FieldError id="b-amount-err" text={errors.amount} />
        </label>
        <label className="field" htmlFor="b-period">
          Period (UTC)
          <select id="b-period" name="period" defaultValue={budget?.period ?? 'month'}>
            <option value="day">Day</option>
            <option value="week">Week (ISO, from Monday)</option>
            <option value="month">Month</option>
          </select>
        </label>
      </div>
      <label className="field" htmlFor="b-thresholds">
        Alert thresholds (%)
        <span className="hint">Each is announced once per period (live events and budget alert rules); 100 means exhausted.</span>
        <input id="b-thresholds" name="thresholds" defaultValue={(budget?.thresholds.length ? budget.thresholds : [50, 80, 100]).join(', ')} {...invalid('thresholds')} />
        <FieldError id="b-thresholds-err" text={errors.thresholds} />
      </label>
      <div className="row">
        <label className="check">
          <input type="checkbox" name="rolling" defaultChecked={budget?.rolling ?? false} /> Rolling window (last 24 h / 7 d / 30 d)
        </label>
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
  const q = useBudgets(3_000);
  const del = useMutation({
    mutationFn: (b: Budget) => api.del(`/api/v1/budgets/${b.id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['budgets'] });
      setPanel(null);
      toast('Budget deleted');
    },
  });
  const scopeName = (b: Budget) => {
    const { virtual_key_id: vk, project_id: p, team_id: t } = b.scope;
    switch (scopeKind(b.scope)) {
      case 'virtual_key':
        return `Virtual key ${vkeys.data?.find((k) => k.id === vk)?.name ?? vk?.slice(0, 8)}`;
      case 'project':
        return `Project ${projects.data?.find((x) => x.id === p)?.name ?? p?.slice(0, 8)}`;
      case 'team':
        return `Team ${teams.data?.find((x) => x.id === t)?.name ?? t?.slice(0, 8)}`;
      default:
        return 'Organization';
    }
  };
  const usageLink = (b: Budget) => {
    const params: Record<string, string> = { preset: b.period === 'day' ? 'today' : b.period === 'week' ? '7d' : 'mtd' };
    for (const [k, v] of Object.entries(budgetFilters(b.scope))) if (v?.length) params[k] = v.join(',');
    return href('/usage', params);
  };

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
              {q.data.map((b) => (
                <tr key={b.id} data-testid={`budget-${b.name}`}>
                  <td>
                    <strong>{b.name}</strong>
                    <div className="muted">{scopeName(b)} · <a href={usageLink(b)}>usage</a></div>
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
                    <BudgetForecast b={b} />
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

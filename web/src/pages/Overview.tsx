import { lazy, Suspense, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp } from '../app/context';
import { href, navigate } from '../app/router';
import { formatMicros } from '../lib/money';
import { presetRange } from '../lib/time';
import { breakdownQuery, forecastPath, topQuery, type Dimension } from '../lib/query';
import type { Alert, Forecast, Page, UsageRow } from '../lib/types';
import { rotationState } from '../lib/rotation';
import { useBudgets, useNames, useProviderKeys } from '../lib/hooks';
import { ErrorState, Loading, Empty } from '../components/states';
import { Badge, Meter, PageHead, StatusBadge } from '../components/ui';

const BarChart = lazy(() => import('../components/BarChart'));
const POLL = 4_000;

function sum(rows: UsageRow[]) {
  return rows.reduce(
    (a, r) => ({ cost: a.cost + r.cost_micros, requests: a.requests + r.requests, errors: a.errors + r.errors, unpriced: a.unpriced + r.unpriced }),
    { cost: 0, requests: 0, errors: 0, unpriced: 0 },
  );
}

function useTotals(preset: 'today' | 'mtd', tz: string) {
  return useQuery({
    queryKey: ['overview', 'totals', preset, tz],
    queryFn: async ({ signal }) => {
      const range = presetRange(preset, new Date(), tz);
      const q = breakdownQuery({ range, groupBy: [], bucket: preset === 'today' ? 'hour' : 'day' });
      return sum((await api.get<Page<UsageRow>>(`/api/v1/usage/timeseries?${q}`, signal)).items);
    },
    refetchInterval: POLL,
  });
}

function TopCard({ dimension, title }: { dimension: Dimension; title: string }) {
  const { tz } = useApp();
  const names = useNames();
  const q = useQuery({
    queryKey: ['overview', 'top', dimension, tz],
    queryFn: async ({ signal }) => (await api.get<Page<UsageRow>>(`/api/v1/usage/top?${topQuery(presetRange('mtd', new Date(), tz), dimension, 5)}`, signal)).items,
    refetchInterval: POLL * 3,
  });
  return (
    <section className="card" aria-labelledby={`top-${dimension}`}>
      <h2 id={`top-${dimension}`}>{title}</h2>
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} what="top spenders" />
      ) : q.data.length === 0 ? (
        <Empty title="No spend this month yet" />
      ) : (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          <BarChart
            title={title}
            bars={q.data.map((r) => ({ label: names(dimension, r.group[dimension] ?? ''), value: r.cost_micros }))}
            formatValue={(v) => formatMicros(v, { compact: true })}
            onPick={() => navigate('/usage', { group_by: dimension, preset: 'mtd' })}
          />
        </Suspense>
      )}
    </section>
  );
}

export default function Overview() {
  const { tz } = useApp();
  const today = useTotals('today', tz);
  const mtd = useTotals('mtd', tz);
  const budgets = useBudgets(POLL);
  const forecast = useQuery({
    queryKey: ['overview', 'forecast'],
    queryFn: ({ signal }) => api.get<Forecast>(forecastPath(new Date()), signal),
    refetchInterval: 60_000,
  });
  const alerts = useQuery({
    queryKey: ['alerts', 'firing'],
    queryFn: async ({ signal }) => (await api.get<Page<Alert>>('/api/v1/alerts?state=firing', signal)).items,
    refetchInterval: 15_000,
  });
  const keys = useProviderKeys();

  const orgBudget = (period: string) => budgets.data?.find((b) => !b.scope.team_id && !b.scope.project_id && !b.scope.virtual_key_id && b.period === period && !b.rolling);
  const health = useMemo(() => {
    const now = new Date();
    const list = keys.data ?? [];
    return {
      total: list.length,
      invalid: list.filter((k) => k.health === 'invalid').length,
      due: list.filter((k) => rotationState(k, now).level !== 'ok' && rotationState(k, now).level !== 'inactive').length,
      grace: list.filter((k) => k.status === 'grace').length,
    };
  }, [keys.data]);

  const spendTile = (label: string, q: typeof today, period: string) => {
    const b = orgBudget(period);
    return (
      <section className="card stat" aria-label={label}>
        <div className="label">{label}</div>
        {q.isPending ? (
          <Loading rows={1} />
        ) : q.error ? (
          <ErrorState compact error={q.error} what="usage" />
        ) : (
          <>
            <div className="value" data-testid={`spend-${period}`}>{formatMicros(q.data.cost)}</div>
            {b ? (
              <>
                <div className="sub">
                  of {formatMicros(b.amount_micros)} budget ({b.name})
                </div>
                <Meter spent={b.spent_micros} reserved={b.reserved_micros} total={b.amount_micros} thresholds={b.thresholds} label={`${b.name} budget used`} />
              </>
            ) : (
              <div className="sub">
                No org {period === 'day' ? 'daily' : 'monthly'} budget · <a href={href('/budgets')}>set one</a>
              </div>
            )}
            {q.data.unpriced > 0 && <Badge tone="warn">{q.data.unpriced} unpriced requests</Badge>}
          </>
        )}
      </section>
    );
  };

  return (
    <>
      <PageHead title="Overview" sub="Spend, traffic, alerts and key health across the organization." />
      <div className="stack">
        <div className="grid cols-4">
          {spendTile('Spend today', today, 'day')}
          {spendTile('Month to date', mtd, 'month')}
          <section className="card stat" aria-label="Requests this month">
            <div className="label">Requests (month)</div>
            {mtd.data ? (
              <>
                <div className="value" data-testid="requests-month">{mtd.data.requests.toLocaleString('en-US')}</div>
                <div className="sub">
                  Error rate {mtd.data.requests ? ((mtd.data.errors / mtd.data.requests) * 100).toFixed(1) : '0.0'}% · today {today.data?.requests.toLocaleString('en-US') ?? '—'}
                </div>
              </>
            ) : mtd.error ? (
              <ErrorState compact error={mtd.error} what="usage" />
            ) : (
              <Loading rows={1} />
            )}
          </section>
          <section className="card stat" aria-label="Forecast">
            <div className="label">Month-end forecast</div>
            {forecast.data ? (
              <>
                <div className="value">{formatMicros(forecast.data.forecast_micros)}</div>
                <div className="sub">{formatMicros(forecast.data.daily_rate_micros)}/day · {forecast.data.method.replace(/_/g, ' ')}</div>
              </>
            ) : forecast.error ? (
              <ErrorState compact error={forecast.error} what="the forecast" />
            ) : (
              <Loading rows={1} />
            )}
          </section>
        </div>
        <div className="grid cols-2">
          <TopCard dimension="model" title="Top models (month)" />
          <TopCard dimension="virtual_key" title="Top virtual keys (month)" />
        </div>
        <div className="grid cols-2">
          <section className="card" aria-labelledby="firing">
            <h2 id="firing">Firing alerts</h2>
            {alerts.isPending ? (
              <Loading />
            ) : alerts.error ? (
              <ErrorState error={alerts.error} what="alerts" />
            ) : alerts.data.length === 0 ? (
              <Empty title="Nothing is firing" />
            ) : (
              <ul>
                {alerts.data.slice(0, 8).map((a) => (
                  <li key={a.id}>
                    <StatusBadge value={a.severity} /> <a href={href('/alerts', { alert: a.id })}>{a.title || a.rule_name}</a>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section className="card" aria-labelledby="health">
            <h2 id="health">Provider key health</h2>
            {keys.isPending ? (
              <Loading />
            ) : keys.error ? (
              <ErrorState error={keys.error} what="provider keys" />
            ) : health.total === 0 ? (
              <Empty title="No provider keys yet">
                <a href={href('/provider-keys')}>Add a provider key</a>
              </Empty>
            ) : (
              <div className="row">
                <Badge>{health.total} {health.total === 1 ? 'key' : 'keys'}</Badge>
                <Badge tone={health.invalid ? 'bad' : 'ok'}>{health.invalid} invalid</Badge>
                <Badge tone={health.due ? 'warn' : 'ok'}>{health.due} due for rotation</Badge>
                <Badge tone={health.grace ? 'warn' : undefined}>{health.grace} in grace</Badge>
                <a href={href('/provider-keys')}>Manage keys</a>
              </div>
            )}
          </section>
        </div>
      </div>
    </>
  );
}

import { useCallback, useEffect, useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ColumnDef, SortingState } from '@tanstack/react-table';
import { api, download } from '../lib/api';
import { useApp } from '../app/context';
import { href, navigate, useRoute } from '../app/router';
import { formatMicros } from '../lib/money';
import {
  breakdownQuery,
  chargebackPath,
  DIMENSION_LABELS,
  DIMENSIONS,
  drillDown,
  eventsQuery,
  FILTER_FOR_DIMENSION,
  FILTER_KEYS,
  toCsv,
  utcMonth,
  type Dimension,
  type UsageFilters,
} from '../lib/query';
import { alignSeries, groupKey } from '../lib/series';
import { bucketFor, bucketMs, formatTime, fromLocalInput, presetRange, RANGE_PRESETS, toApiTime, toLocalInput, type RangePreset, type TimeRange } from '../lib/time';
import type { Page, Recommendation, UsageEvent, UsageRow } from '../lib/types';
import { sortRows } from '../lib/series';
import { useNames } from '../lib/hooks';
import { DataTable } from '../components/DataTable';
import { ActionError, Empty, ErrorState, Loading, QueryView } from '../components/states';
import { useCan } from '../app/context';
import { Badge, PageHead } from '../components/ui';
import { TimeSeriesChart } from '../components/TimeSeriesChart';

const PAGE_SIZE = 25;
/** Groups fetched for the table (sorted, searched and paged in the browser). */
const GROUPS = 1000;
const POLL = 3_000;
type Metric = 'cost' | 'requests' | 'tokens';
const STATUSES = ['ok', 'error', 'rate_limited', 'timeout', 'cancelled'];

function readState(params: URLSearchParams, tz: string) {
  const preset = (params.get('preset') ?? '7d') as RangePreset | 'custom';
  let range: TimeRange;
  if (preset === 'custom') {
    const from = fromLocalInput(params.get('from') ?? '', tz);
    const to = fromLocalInput(params.get('to') ?? '', tz);
    range = from && to && from < to ? { from, to } : presetRange('7d', new Date(), tz);
  } else {
    range = presetRange(RANGE_PRESETS.some((p) => p.id === preset) ? (preset as RangePreset) : '7d', new Date(), tz);
  }
  const groupBy = (params.get('group_by') ?? 'model')
    .split(',')
    .filter((d): d is Dimension => (DIMENSIONS as readonly string[]).includes(d))
    .slice(0, 2);
  const filters: UsageFilters = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) filters[k] = v.split(',');
  }
  return { preset, range, groupBy, filters, metric: (params.get('metric') ?? 'cost') as Metric };
}

function metricOf(m: Metric) {
  return m === 'cost' ? (r: UsageRow) => r.cost_micros : m === 'requests' ? (r: UsageRow) => r.requests : (r: UsageRow) => r.input_tokens + r.output_tokens;
}

function fmtMetric(m: Metric) {
  return m === 'cost' ? (v: number) => formatMicros(v, { compact: true }) : (v: number) => Math.round(v).toLocaleString('en-US');
}

/** Request-level calls (`/usage/events`, newest first) of a drilled-down bucket or the range. */
function Events({ range, filters }: { range: TimeRange; filters: UsageFilters }) {
  const { tz } = useApp();
  const names = useNames();
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const q = useQuery({
    queryKey: ['usage', 'events', range.from.getTime(), range.to.getTime(), filters, status, cursor],
    queryFn: ({ signal }) => api.get<Page<UsageEvent>>(`/api/v1/usage/events?${eventsQuery({ range, filters, status: status ? [status] : [], pageSize: 50, cursor })}`, signal),
    placeholderData: keepPreviousData,
    // The first page (newest calls) follows new traffic like the charts; later pages stay put.
    refetchInterval: cursor === undefined ? POLL * 2 : false,
  });
  return (
    <>
      <label className="field" htmlFor="ev-status" style={{ maxWidth: '14rem' }}>
        Status
        <select
          id="ev-status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            setCursors([]);
          }}
        >
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <QueryView q={q} what="request-level events" isEmpty={(d) => d.items.length === 0} empty={<Empty title="No requests here" />}>
        {(page) => (
          <>
            <div className="table-wrap">
              <table data-testid="usage-events">
                <caption className="sr-only">Requests</caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Model</th>
                    <th scope="col">Virtual key</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">Input</th>
                    <th scope="col" className="num">Output</th>
                    <th scope="col" className="num">Latency</th>
                    <th scope="col" className="num">Cost</th>
                    <th scope="col">Request id</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((e) => (
                    <tr key={e.event_id}>
                      <td>{formatTime(e.ts, tz, 'short')}</td>
                      <td>
                        {e.provider}/{e.model}
                        {e.streamed && <span className="muted"> · stream</span>}
                      </td>
                      <td>{e.virtual_key_id ? names('virtual_key', e.virtual_key_id) : '—'}</td>
                      <td>
                        <Badge tone={e.status === 'ok' ? 'ok' : 'bad'} title={`HTTP ${e.http_status}`}>
                          {e.status}
                        </Badge>
                      </td>
                      <td className="num">{e.input_tokens.toLocaleString('en-US')}</td>
                      <td className="num">{e.output_tokens.toLocaleString('en-US')}</td>
                      <td className="num">{e.latency_ms.toLocaleString('en-US')} ms</td>
                      <td className="num">
                        {formatMicros(e.cost_micros)} {!e.priced && <Badge tone="warn">unpriced</Badge>}
                      </td>
                      <td className="mono">{e.request_id}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <button type="button" className="small" disabled={!cursors.length} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <button type="button" className="small" disabled={!page.next_cursor} onClick={() => page.next_cursor && setCursors((c) => [...c, page.next_cursor as string])}>
                Older
              </button>
            </div>
          </>
        )}
      </QueryView>
    </>
  );
}

/** Chargeback CSV of a UTC month and the cost service's savings recommendations (org-level). */
function CostReports() {
  const [month, setMonth] = useState(() => utcMonth(new Date()));
  const [by, setBy] = useState<'team' | 'project'>('team');
  const [error, setError] = useState<unknown>(null);
  const recs = useQuery({
    queryKey: ['usage', 'recommendations'],
    queryFn: async ({ signal }) => (await api.get<Page<Recommendation>>('/api/v1/cost/recommendations', signal)).items,
    staleTime: 5 * 60_000,
  });
  const months = [0, -1, -2].map((o) => utcMonth(new Date(), o));
  const get = async () => {
    setError(null);
    try {
      await download(chargebackPath(month, by), `chargeback-${month}-${by}.csv`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="grid cols-2" style={{ marginTop: '1rem' }}>
      <section className="card form" aria-labelledby="u-chargeback">
        <h2 id="u-chargeback">Chargeback</h2>
        <p className="muted" style={{ margin: 0 }}>
          Cost per team or project of a calendar month (UTC), as CSV for finance.
        </p>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <label className="field" htmlFor="cb-month">
            Month
            <select id="cb-month" value={month} onChange={(e) => setMonth(e.target.value)}>
              {months.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label className="field" htmlFor="cb-by">
            By
            <select id="cb-by" value={by} onChange={(e) => setBy(e.target.value as 'team' | 'project')}>
              <option value="team">Team</option>
              <option value="project">Project</option>
            </select>
          </label>
          <button type="button" onClick={() => void get()}>
            Download chargeback CSV
          </button>
        </div>
        <ActionError error={error} />
      </section>
      <section className="card" aria-labelledby="u-recs">
        <h2 id="u-recs">Recommendations</h2>
        <QueryView q={recs} what="recommendations" isEmpty={(d) => d.length === 0} empty={<Empty title="No recommendations right now" />}>
          {(items) => (
            <ul className="stack" style={{ gap: '0.5rem', paddingLeft: '1.1rem', margin: 0 }}>
              {items.map((r, i) => (
                <li key={`${r.kind}-${r.subject}-${i}`}>
                  <strong>{r.kind.replace(/_/g, ' ')}</strong> · {r.subject}
                  {r.estimated_monthly_saving_micros > 0 && <Badge tone="ok">saves ~{formatMicros(r.estimated_monthly_saving_micros, { compact: true })}/month</Badge>}
                  <div className="muted">{r.detail}</div>
                </li>
              ))}
            </ul>
          )}
        </QueryView>
      </section>
    </div>
  );
}

export default function Usage() {
  const { tz } = useApp();
  const route = useRoute();
  const params = route.params;
  const state = useMemo(() => readState(params, tz), [params, tz]);
  const names = useNames();
  const [pageIndex, setPageIndex] = useState(0);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'cost_micros', desc: true }]);
  const [search, setSearch] = useState('');
  const [debounced, setDebounced] = useState('');
  const [drill, setDrill] = useState<{ range: TimeRange; filters: UsageFilters; label: string } | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const orgWide = useCan('usage', 'read', null);

  useEffect(() => {
    const t = setTimeout(() => setDebounced(search), 300);
    return () => clearTimeout(t);
  }, [search]);
  const rangeKey = `${state.range.from.getTime()}-${state.preset === 'custom' ? state.range.to.getTime() : 'now'}`;
  useEffect(() => setPageIndex(0), [rangeKey, params, debounced, sorting]);

  const update = useCallback(
    (patch: Record<string, string | undefined>) => {
      const next = new URLSearchParams(params);
      for (const [k, v] of Object.entries(patch)) {
        if (v) next.set(k, v);
        else next.delete(k);
      }
      navigate('/usage', next, true);
    },
    [params],
  );
  /** The range asked for now: a preset ends at this moment. */
  const liveRange = () => (state.preset === 'custom' ? state.range : { ...state.range, to: new Date() });

  const bucket = bucketFor(state.range);
  const series = useQuery({
    queryKey: ['usage', 'timeseries', rangeKey, state.groupBy, state.filters, bucket],
    queryFn: async ({ signal }) =>
      (await api.get<Page<UsageRow>>(`/api/v1/usage/timeseries?${breakdownQuery({ range: liveRange(), groupBy: state.groupBy, bucket, filters: state.filters, pageSize: 10_000 })}`, signal)).items,
    refetchInterval: state.preset === 'custom' ? false : POLL,
    placeholderData: keepPreviousData,
  });

  const groupBy = state.groupBy.length ? state.groupBy : (['model'] as Dimension[]);
  const table = useQuery({
    queryKey: ['usage', 'breakdown', rangeKey, groupBy, state.filters],
    queryFn: ({ signal }) => api.get<Page<UsageRow>>(`/api/v1/usage/breakdown?${breakdownQuery({ range: liveRange(), groupBy, filters: state.filters, pageSize: GROUPS })}`, signal),
    refetchInterval: state.preset === 'custom' ? false : POLL * 2,
    placeholderData: keepPreviousData,
  });

  const metric = metricOf(state.metric);
  const fmt = useMemo(() => fmtMetric(state.metric), [state.metric]);
  const aligned = useMemo(() => alignSeries(series.data ?? [], state.groupBy, metric), [series.data, state.groupBy, metric]);
  const label = (group: Record<string, string>) => state.groupBy.map((d) => names(d, group[d] ?? '')).join(' · ') || 'Total';

  const onPick = (index: number, seriesIndex: number | null) => {
    const x = aligned.x[index];
    if (x === undefined) return;
    const from = new Date(x * 1000);
    const to = new Date(Math.min(Date.now(), x * 1000 + bucketMs(bucket)));
    let filters = state.filters;
    const s = seriesIndex !== null ? aligned.series[seriesIndex] : undefined;
    if (s && !s.key.startsWith('other')) for (const d of state.groupBy) filters = drillDown(filters, d, s.group[d] ?? '');
    setDrill({ range: { from, to }, filters, label: `${s ? label(s.group) : 'All'} · ${formatTime(from, tz, 'short')}` });
  };

  const needle = debounced.trim().toLowerCase();
  const matching = (table.data?.items ?? []).filter((r) => !needle || groupBy.some((d) => names(d, r.group[d] ?? '').toLowerCase().includes(needle)));
  const sorted = sortRows(matching, sorting[0] ? { id: sorting[0].id, desc: sorting[0].desc } : null, (d, r) => names(d, r.group[d] ?? ''));
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const rows = sorted.slice(pageIndex * PAGE_SIZE, (pageIndex + 1) * PAGE_SIZE);

  const columns = useMemo<ColumnDef<UsageRow, unknown>[]>(
    () => [
      ...groupBy.map<ColumnDef<UsageRow, unknown>>((d) => ({
        id: `group.${d}`,
        header: DIMENSION_LABELS[d],
        accessorFn: (r) => names(d, r.group[d] ?? ''),
        cell: (c) => (
          <button
            type="button"
            className="link"
            onClick={() => update({ [FILTER_FOR_DIMENSION[d]]: c.row.original.group[d] || undefined })}
            title={`Only ${DIMENSION_LABELS[d].toLowerCase()} ${String(c.getValue())}`}
          >
            {String(c.getValue())}
          </button>
        ),
      })),
      { id: 'requests', header: 'Requests', accessorKey: 'requests', meta: { numeric: true }, cell: (c) => c.row.original.requests.toLocaleString('en-US') },
      { id: 'input_tokens', header: 'Input tokens', accessorKey: 'input_tokens', meta: { numeric: true }, cell: (c) => c.row.original.input_tokens.toLocaleString('en-US') },
      { id: 'output_tokens', header: 'Output tokens', accessorKey: 'output_tokens', meta: { numeric: true }, cell: (c) => c.row.original.output_tokens.toLocaleString('en-US') },
      { id: 'errors', header: 'Errors', accessorKey: 'errors', meta: { numeric: true } },
      {
        id: 'cost_micros',
        header: 'Cost',
        accessorKey: 'cost_micros',
        meta: { numeric: true },
        cell: (c) => (
          <>
            {formatMicros(c.row.original.cost_micros)} {c.row.original.unpriced > 0 && <Badge tone="warn" title="Requests of models without a price">unpriced</Badge>}
          </>
        ),
      },
    ],
    [groupBy.join(','), names, update],
  );

  /** The table as CSV (every matching group, in the table's order), built in the browser. */
  const exportCsv = () => {
    setExportError(null);
    try {
      const header = [...groupBy.map((d) => DIMENSION_LABELS[d]), ...groupBy.map((d) => `${d}_id`), 'requests', 'errors', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cost_usd', 'cost_micros', 'unpriced'];
      const body = sorted.map((r) => [
        ...groupBy.map((d) => names(d, r.group[d] ?? '')),
        ...groupBy.map((d) => r.group[d] ?? ''),
        r.requests,
        r.errors,
        r.input_tokens,
        r.output_tokens,
        r.cached_input_tokens,
        (r.cost_micros / 1_000_000).toFixed(6),
        r.cost_micros,
        r.unpriced,
      ]);
      const url = URL.createObjectURL(new Blob([toCsv(header, body)], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `keyward-usage-${toApiTime(state.range.from).slice(0, 10)}-by-${groupBy.join('-')}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setExportError(e);
    }
  };

  const activeFilters = FILTER_KEYS.flatMap((k) => (state.filters[k] ?? []).map((v) => ({ k, v })));
  const dimOfFilter = (k: keyof UsageFilters) => (Object.entries(FILTER_FOR_DIMENSION).find(([, f]) => f === k)?.[0] ?? 'model') as Dimension;

  return (
    <>
      <PageHead title="Usage and cost" sub={`Times in ${tz} (change in Settings). Buckets are ${bucket}s.`}>
        <button type="button" onClick={() => setDrill({ range: liveRange(), filters: state.filters, label: 'whole range' })}>
          Show requests
        </button>
        <button type="button" onClick={exportCsv} disabled={!table.data}>
          Export CSV
        </button>
      </PageHead>
      <ActionError error={exportError} />
      <div className="card form" style={{ marginBottom: '1rem' }}>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <label className="field" htmlFor="u-range">
            Range
            <select id="u-range" value={state.preset} onChange={(e) => update(e.target.value === 'custom' ? { preset: 'custom', from: toLocalInput(state.range.from, tz), to: toLocalInput(state.range.to, tz) } : { preset: e.target.value, from: undefined, to: undefined })}>
              {RANGE_PRESETS.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
              <option value="custom">Custom…</option>
            </select>
          </label>
          {state.preset === 'custom' && (
            <>
              <label className="field" htmlFor="u-from">
                From
                <input id="u-from" type="datetime-local" value={params.get('from') ?? ''} onChange={(e) => update({ from: e.target.value })} />
              </label>
              <label className="field" htmlFor="u-to">
                To
                <input id="u-to" type="datetime-local" value={params.get('to') ?? ''} onChange={(e) => update({ to: e.target.value })} />
              </label>
            </>
          )}
          {[0, 1].map((i) => (
            <label key={i} className="field" htmlFor={`u-group-${i}`}>
              {i === 0 ? 'Group by' : 'Then by'}
              <select
                id={`u-group-${i}`}
                value={state.groupBy[i] ?? ''}
                onChange={(e) => {
                  const g = [...state.groupBy];
                  if (e.target.value) g[i] = e.target.value as Dimension;
                  else g.splice(i, 1);
                  update({ group_by: [...new Set(g.filter(Boolean))].join(',') || undefined });
                }}
              >
                <option value="">{i === 0 ? 'Nothing (total)' : 'Nothing'}</option>
                {DIMENSIONS.filter((d) => i === 0 || d !== state.groupBy[0]).map((d) => (
                  <option key={d} value={d}>
                    {DIMENSION_LABELS[d]}
                  </option>
                ))}
              </select>
            </label>
          ))}
          <label className="field" htmlFor="u-metric">
            Chart
            <select id="u-metric" value={state.metric} onChange={(e) => update({ metric: e.target.value === 'cost' ? undefined : e.target.value })}>
              <option value="cost">Cost</option>
              <option value="requests">Requests</option>
              <option value="tokens">Tokens</option>
            </select>
          </label>
        </div>
        {activeFilters.length > 0 && (
          <div className="row" aria-label="Active filters">
            {activeFilters.map(({ k, v }) => (
              <button key={`${k}=${v}`} type="button" className="small" onClick={() => update({ [k]: (state.filters[k] ?? []).filter((x) => x !== v).join(',') || undefined })} aria-label={`Remove filter ${DIMENSION_LABELS[dimOfFilter(k)]} ${names(dimOfFilter(k), v)}`}>
                {DIMENSION_LABELS[dimOfFilter(k)]}: {names(dimOfFilter(k), v)} ✕
              </button>
            ))}
            <a href={href('/usage', { preset: params.get('preset') ?? undefined, group_by: params.get('group_by') ?? undefined })}>Clear filters</a>
          </div>
        )}
      </div>

      <section className="card" aria-labelledby="u-chart" style={{ marginBottom: '1rem' }}>
        <h2 id="u-chart">{state.metric === 'cost' ? 'Cost' : state.metric === 'requests' ? 'Requests' : 'Tokens'} over time</h2>
        {series.isPending ? (
          <Loading label="Loading the chart…" />
        ) : series.error ? (
          <ErrorState error={series.error} what="usage over time" onRetry={() => void series.refetch()} />
        ) : aligned.x.length === 0 ? (
          <Empty title="No usage in this range">
            <p>Send a request with a virtual key; it shows up here within seconds.</p>
          </Empty>
        ) : (
          <div data-testid="usage-chart">
            <TimeSeriesChart x={aligned.x} series={aligned.series.map((s) => ({ label: s.key.startsWith('other') ? s.key : label(s.group), values: s.values }))} title="Usage over time" formatValue={fmt} tz={tz} onPick={onPick} />
          </div>
        )}
      </section>

      {drill && (
        <section className="card" aria-labelledby="u-drill" style={{ marginBottom: '1rem' }}>
          <div className="row">
            <h2 id="u-drill" style={{ margin: 0 }}>
              Requests · {drill.label}
            </h2>
            <span className="spacer" />
            <button type="button" className="small" onClick={() => setDrill(null)}>
              Close
            </button>
          </div>
          <Events range={drill.range} filters={drill.filters} />
        </section>
      )}

      <section className="card" aria-labelledby="u-table">
        <div className="row" style={{ marginBottom: '0.5rem' }}>
          <h2 id="u-table" style={{ margin: 0 }}>
            Breakdown
          </h2>
          <span className="spacer" />
          <label htmlFor="u-search" className="sr-only">
            Search groups
          </label>
          <input id="u-search" type="search" placeholder="Search…" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        {table.data?.next_cursor && <p className="notice warn">Showing the first {GROUPS.toLocaleString('en-US')} groups; narrow the range or the filters to see the rest.</p>}
        {table.isPending ? (
          <Loading label="Loading the breakdown…" />
        ) : table.error ? (
          <ErrorState error={table.error} what="the usage breakdown" onRetry={() => void table.refetch()} />
        ) : rows.length === 0 ? (
          <Empty title={needle ? 'Nothing matches the search' : 'No usage in this range'} />
        ) : (
          <>
            <DataTable data={rows} columns={columns} caption="Usage breakdown" manualSorting sorting={sorting} onSortingChange={setSorting} getRowId={(r, i) => `${groupKey(r.group, groupBy)}#${i}`} />
            <div className="pager">
              <span className="muted">
                Page {pageIndex + 1} of {pages} · {sorted.length.toLocaleString('en-US')} groups
              </span>
              <button type="button" className="small" disabled={pageIndex === 0} onClick={() => setPageIndex((p) => p - 1)}>
                Previous
              </button>
              <button type="button" className="small" disabled={pageIndex + 1 >= pages} onClick={() => setPageIndex((p) => p + 1)}>
                Next
              </button>
            </div>
          </>
        )}
      </section>
      {orgWide && <CostReports />}
    </>
  );
}

import { useCallback, useEffect, useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ColumnDef, SortingState } from '@tanstack/react-table';
import { api, ApiError, download } from '../lib/api';
import { useApp } from '../app/context';
import { href, navigate, useRoute } from '../app/router';
import { formatMicros } from '../lib/money';
import {
  breakdownQuery,
  DIMENSION_LABELS,
  DIMENSIONS,
  drillDown,
  FILTER_FOR_DIMENSION,
  usageExportPath,
  type Dimension,
  type UsageFilters,
} from '../lib/query';
import { alignSeries, groupKey } from '../lib/series';
import { bucketFor, bucketMs, formatTime, fromLocalInput, presetRange, RANGE_PRESETS, toLocalInput, type RangePreset, type TimeRange } from '../lib/time';
import { listOf, toUsagePage, type UsageRow } from '../lib/types';
import { useNames } from '../lib/hooks';
import { DataTable } from '../components/DataTable';
import { ActionError, Empty, ErrorState, Loading, QueryView } from '../components/states';
import { Badge, PageHead } from '../components/ui';
import { TimeSeriesChart } from '../components/TimeSeriesChart';

const PAGE_SIZE = 25;
const POLL = 3_000;
type Metric = 'cost' | 'requests' | 'tokens';

const FILTER_KEYS = Object.values(FILTER_FOR_DIMENSION);

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

/** Request-level events of a drilled-down bucket. */
function Events({ range, filters }: { range: TimeRange; filters: UsageFilters }) {
  const { tz } = useApp();
  const q = useQuery({
    queryKey: ['usage', 'events', range.from.getTime(), range.to.getTime(), filters],
    queryFn: async ({ signal }) =>
      listOf(await api.get<unknown>(`/api/v1/usage/events?${breakdownQuery({ range, groupBy: [], filters, pageSize: 100 })}`, signal), 'events') as Record<string, unknown>[],
  });
  return (
    <QueryView q={q} what="request-level events" isEmpty={(d) => d.length === 0} empty={<Empty title="No requests in this bucket" />}>
      {(events) => (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Requests</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Input</th>
                <th scope="col" className="num">Output</th>
                <th scope="col" className="num">Latency</th>
                <th scope="col" className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={String(e.event_id ?? i)}>
                  <td>{formatTime(String(e.ts ?? e.occurred_at ?? ''), tz, 'short')}</td>
                  <td>{String(e.model ?? '')}</td>
                  <td>{String(e.status ?? e.http_status ?? '')}</td>
                  <td className="num">{Number(e.input_tokens ?? 0).toLocaleString('en-US')}</td>
                  <td className="num">{Number(e.output_tokens ?? 0).toLocaleString('en-US')}</td>
                  <td className="num">{Number(e.latency_ms ?? 0)} ms</td>
                  <td className="num">{formatMicros(Number(e.cost_micros ?? 0))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </QueryView>
  );
}

export default function Usage() {
  const { tz } = useApp();
  const route = useRoute();
  const params = route.params;
  const state = useMemo(() => readState(params, tz), [params, tz]);
  const names = useNames();
  const [cursors, setCursors] = useState<string[]>([]);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'cost_micros', desc: true }]);
  const [serverSort, setServerSort] = useState(true);
  const [search, setSearch] = useState('');
  const [debounced, setDebounced] = useState('');
  const [drill, setDrill] = useState<{ range: TimeRange; filters: UsageFilters; label: string } | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);

  useEffect(() => {
    const t = setTimeout(() => setDebounced(search), 300);
    return () => clearTimeout(t);
  }, [search]);
  const rangeKey = `${state.range.from.getTime()}-${state.preset === 'custom' ? state.range.to.getTime() : 'now'}`;
  useEffect(() => setCursors([]), [rangeKey, params, debounced, sorting]);

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

  const bucket = bucketFor(state.range);
  const series = useQuery({
    queryKey: ['usage', 'timeseries', rangeKey, state.groupBy, state.filters, bucket],
    queryFn: async ({ signal }) => {
      const range = state.preset === 'custom' ? state.range : { ...state.range, to: new Date() };
      return toUsagePage(await api.get<unknown>(`/api/v1/usage/timeseries?${breakdownQuery({ range, groupBy: state.groupBy, bucket, filters: state.filters })}`, signal)).rows;
    },
    refetchInterval: state.preset === 'custom' ? false : POLL,
    placeholderData: keepPreviousData,
  });

  const sort = sorting[0] ? { field: sorting[0].id, dir: sorting[0].desc ? ('desc' as const) : ('asc' as const) } : null;
  const tableParams = {
    range: state.range,
    groupBy: state.groupBy.length ? state.groupBy : (['model'] as Dimension[]),
    filters: state.filters,
    pageSize: PAGE_SIZE,
    cursor: cursors[cursors.length - 1],
    sort: serverSort ? sort : null,
    search: serverSort ? debounced : undefined,
  };
  const table = useQuery({
    queryKey: ['usage', 'breakdown', rangeKey, tableParams.groupBy, state.filters, tableParams.cursor, tableParams.sort, tableParams.search],
    queryFn: async ({ signal }) => {
      const range = state.preset === 'custom' ? state.range : { ...state.range, to: new Date() };
      try {
        return toUsagePage(await api.get<unknown>(`/api/v1/usage/breakdown?${breakdownQuery({ ...tableParams, range })}`, signal));
      } catch (e) {
        // A gateway without server-side sort/search refuses the parameter: fall back to sorting
        // and searching the current page in the browser.
        if (e instanceof ApiError && e.status === 400 && (e.field === 'sort' || e.field === 'q')) setServerSort(false);
        throw e;
      }
    },
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

  let rows = table.data?.rows ?? [];
  if (!serverSort && debounced) {
    const needle = debounced.toLowerCase();
    rows = rows.filter((r) => tableParams.groupBy.some((d) => names(d, r.group[d] ?? '').toLowerCase().includes(needle)));
  }

  const columns = useMemo<ColumnDef<UsageRow, unknown>[]>(
    () => [
      ...tableParams.groupBy.map<ColumnDef<UsageRow, unknown>>((d) => ({
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
    [tableParams.groupBy.join(','), names, update],
  );

  const exportCsv = async () => {
    setExportError(null);
    try {
      await download(usageExportPath({ ...tableParams, range: state.preset === 'custom' ? state.range : { ...state.range, to: new Date() } }), `keyward-usage-${new Date().toISOString().slice(0, 10)}.csv`);
    } catch (e) {
      setExportError(e);
    }
  };

  const activeFilters = FILTER_KEYS.flatMap((k) => (state.filters[k] ?? []).map((v) => ({ k, v })));
  const dimOfFilter = (k: keyof UsageFilters) => (Object.entries(FILTER_FOR_DIMENSION).find(([, f]) => f === k)?.[0] ?? 'model') as Dimension;

  return (
    <>
      <PageHead title="Usage and cost" sub={`Times in ${tz} (change in Settings). Buckets are ${bucket}s.`}>
        <button type="button" onClick={() => void exportCsv()}>
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
        {!serverSort && <p className="notice warn">This gateway does not sort or search on the server yet; sorting and search apply to the current page.</p>}
        {table.isPending ? (
          <Loading label="Loading the breakdown…" />
        ) : table.error ? (
          <ErrorState error={table.error} what="the usage breakdown" onRetry={() => void table.refetch()} />
        ) : rows.length === 0 ? (
          <Empty title={debounced ? 'Nothing matches the search' : 'No usage in this range'} />
        ) : (
          <>
            <DataTable
              data={rows}
              columns={columns}
              caption="Usage breakdown"
              manualSorting={serverSort}
              sorting={sorting}
              onSortingChange={setSorting}
              getRowId={(r, i) => `${groupKey(r.group, tableParams.groupBy)}#${i}`}
            />
            <div className="pager">
              <span className="muted">Page {cursors.length + 1}</span>
              <button type="button" className="small" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Previous
              </button>
              <button type="button" className="small" disabled={!table.data?.next_cursor} onClick={() => table.data?.next_cursor && setCursors((c) => [...c, table.data.next_cursor as string])}>
                Next
              </button>
            </div>
          </>
        )}
      </section>
    </>
  );
}

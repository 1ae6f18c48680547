import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { usePrefs, effectiveTheme } from '../app/prefs';
import { formatTime } from '../lib/time';
import { cssVar, palette } from './palette';

export interface Series {
  label: string;
  values: number[];
}

export interface TimeSeriesProps {
  /** Bucket starts, epoch seconds, ascending. */
  x: number[];
  series: Series[];
  title: string;
  formatValue: (v: number) => string;
  tz: string;
  height?: number;
  /** Called with the clicked bucket index and series (null when the click is on no series). */
  onPick?: (index: number, seriesIndex: number | null) => void;
}

/** A stacked area chart: each series is drawn on top of the ones before it. */
export function TimeSeriesChart({ x, series, title, formatValue, tz, height = 280, onPick }: TimeSeriesProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const { theme } = usePrefs();
  const [hidden, setHidden] = useState<Set<number>>(new Set());

  const stacked = useMemo(() => {
    const sums = x.map(() => 0);
    return series.map((s, i) => {
      if (hidden.has(i)) return null;
      return s.values.map((v, j) => {
        sums[j] = (sums[j] ?? 0) + (v || 0);
        return sums[j] ?? 0;
      });
    });
  }, [x, series, hidden]);

  const pickRef = useRef(onPick);
  pickRef.current = onPick;
  const fmtRef = useRef(formatValue);
  fmtRef.current = formatValue;
  // Paint the top of the stack first so lower series overpaint it.
  const order = useMemo(() => stacked.map((_, i) => i).filter((i) => stacked[i] !== null).reverse(), [stacked]);
  const data = useMemo<uPlot.AlignedData>(() => [x, ...order.map((i) => stacked[i] as number[])], [x, order, stacked]);
  const dataRef = useRef(data);
  dataRef.current = data;
  const stackedRef = useRef(stacked);
  stackedRef.current = stacked;
  // The chart is rebuilt only when its structure changes (series, theme, zone); polling only
  // swaps the data, so hover and clicks survive refreshes.
  const labels = series.map((s) => s.label).join('\u0000');
  const span = x.length > 1 ? x[x.length - 1]! - x[0]! : 0;
  const axisStyle = span > 3 * 86400 ? 'date' : span > 36 * 3600 ? 'short' : 'time';
  const structure = `${labels}|${order.join(',')}|${theme}|${tz}|${height}|${axisStyle}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const dark = effectiveTheme() === 'dark';
    const colors = palette(dark);
    const axis = cssVar('--muted') || '#666';
    const grid = cssVar('--border') || '#ddd';
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      // A single bucket would give a zero-width range (every tick the same time): pad it by an hour.
      scales: { x: { time: true, range: (_u, min, max) => (min === max ? [min - 3600, max + 3600] : [min, max]) } },
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          space: axisStyle === 'short' ? 110 : 70,
          values: (_u, splits) => splits.map((v) => formatTime(new Date(v * 1000), tz, axisStyle)),
        },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 70, values: (_u, splits) => splits.map((v) => fmtRef.current(v)) },
      ],
      series: [
        {},
        ...order.map((i) => {
          const c = colors[i % colors.length] ?? '#888';
          return { label: series[i]?.label ?? '', stroke: c, fill: `${c}cc`, width: 1.5, points: { show: dataRef.current[0].length < 3 } };
        }),
      ],
      hooks: {
        setCursor: [(u) => setHover(u.cursor.idx ?? null)],
      },
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    const onClick = () => {
      const idx = u.cursor.idx;
      if (idx === null || idx === undefined || !pickRef.current) return;
      const yVal = u.posToVal(u.cursor.top ?? -1, 'y');
      // The lowest stacked series whose cumulative value reaches the click.
      const cols = stackedRef.current;
      let picked: number | null = null;
      for (let i = 0; i < cols.length; i++) {
        const col = cols[i];
        if (col && (col[idx] ?? 0) >= yVal) {
          picked = i;
          break;
        }
      }
      pickRef.current(idx, picked);
    };
    u.over.addEventListener('click', onClick);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.over.removeEventListener('click', onClick);
      u.destroy();
      plot.current = null;
    };
  }, [structure]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const colors = palette(effectiveTheme() === 'dark');
  const idx = hover ?? x.length - 1;
  const total = series.reduce((a, s, i) => a + (hidden.has(i) ? 0 : (s.values[idx] ?? 0)), 0);
  return (
    <figure style={{ margin: 0 }} aria-label={title}>
      <div ref={host} className="chart" role="img" aria-label={`${title}: stacked chart of ${series.length} series over ${x.length} buckets`} />
      <figcaption className="stack" style={{ gap: '0.35rem' }}>
        <div className="muted" aria-live="off">
          {x[idx] !== undefined ? `${formatTime(new Date(x[idx]! * 1000), tz, 'short')}: ${formatValue(total)} total` : ''}
          {onPick ? ' · click the chart to drill down' : ''}
        </div>
        <div className="chart-legend">
          {series.map((s, i) => (
            <button
              key={s.label + i}
              type="button"
              aria-pressed={!hidden.has(i)}
              onClick={() =>
                setHidden((h) => {
                  const n = new Set(h);
                  if (n.has(i)) n.delete(i);
                  else n.add(i);
                  return n;
                })
              }
              style={{ opacity: hidden.has(i) ? 0.45 : 1 }}
            >
              <span className="swatch" style={{ background: colors[i % colors.length] }} />
              {s.label || '(none)'}
              {x[idx] !== undefined ? ` ${formatValue(s.values[idx] ?? 0)}` : ''}
            </button>
          ))}
        </div>
      </figcaption>
    </figure>
  );
}

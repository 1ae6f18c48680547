// ECharts, trimmed to what the dashboard draws (bars and pies on canvas); this module is loaded
// lazily, so it never weighs on the first page load.
import * as echarts from 'echarts/core';
import { BarChart as EBar, PieChart } from 'echarts/charts';
import { GridComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { usePrefs, effectiveTheme } from '../app/prefs';
import { cssVar, palette } from './palette';

echarts.use([EBar, PieChart, GridComponent, TooltipComponent, CanvasRenderer]);

export interface Bar {
  label: string;
  value: number;
}

export default function BarChart({ bars, title, formatValue, kind = 'bar', onPick }: { bars: Bar[]; title: string; formatValue: (v: number) => string; kind?: 'bar' | 'pie'; onPick?: (label: string) => void }) {
  usePrefs(); // re-render on theme change
  const dark = effectiveTheme() === 'dark';
  const text = cssVar('--text') || (dark ? '#eee' : '#111');
  const muted = cssVar('--muted') || '#777';
  const colors = palette(dark);
  const sorted = [...bars].sort((a, b) => a.value - b.value);
  const option =
    kind === 'pie'
      ? {
          color: colors,
          tooltip: { trigger: 'item', valueFormatter: (v: number) => formatValue(v) },
          series: [{ type: 'pie', radius: ['40%', '70%'], label: { color: text }, data: bars.map((b) => ({ name: b.label || '(none)', value: b.value })) }],
        }
      : {
          color: colors,
          grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number) => formatValue(v) },
          xAxis: { type: 'value', axisLabel: { color: muted, formatter: (v: number) => formatValue(v) }, splitLine: { lineStyle: { color: cssVar('--border') } } },
          yAxis: { type: 'category', data: sorted.map((b) => b.label || '(none)'), axisLabel: { color: text, width: 140, overflow: 'truncate' } },
          series: [{ type: 'bar', data: sorted.map((b) => b.value), itemStyle: { borderRadius: [0, 4, 4, 0] } }],
        };
  return (
    <div role="img" aria-label={`${title}: ${bars.map((b) => `${b.label || '(none)'} ${formatValue(b.value)}`).join(', ')}`}>
      <ReactEChartsCore
        echarts={echarts}
        option={option}
        notMerge
        style={{ height: Math.max(160, Math.min(360, bars.length * 34 + 40)), width: '100%' }}
        onEvents={onPick ? { click: (p: { name?: string }) => p.name && onPick(p.name) } : undefined}
      />
    </div>
  );
}

/** The latent's activation histogram (where it fires): bins over log10(activation), as the analysis counted them. */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { FeatureDetail } from "../../api/features";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { formatCount } from "../../lib/format";
import { formatActivation } from "./ExampleTokens";

export interface HistogramBar {
  /** The bin's centre as an activation (10^centre of the log edges). */
  centre: number;
  low: number;
  high: number;
  count: number;
}

/**
 * The histogram's bins as bars; edges come as log10, so each bin's bounds are 10^edge. The empty bins before the
 * first and after the last counted one are dropped: the edges span every latent's range, and a latent's own
 * activations would otherwise be a sliver in the middle of the chart.
 */
export function histogramBars(histogram: FeatureDetail["histogram"]): HistogramBar[] {
  const edges = histogram.log10_edges;
  const bars = histogram.counts.map((count, i) => {
    const lo = edges[i] ?? 0;
    const hi = edges[i + 1] ?? lo;
    return { centre: 10 ** ((lo + hi) / 2), low: 10 ** lo, high: 10 ** hi, count };
  });
  const first = bars.findIndex((b) => b.count > 0);
  if (first < 0) return [];
  const last = bars.length - 1 - [...bars].reverse().findIndex((b) => b.count > 0);
  return bars.slice(first, last + 1);
}

export function ActivationHistogram({ histogram, height = 180 }: { histogram: FeatureDetail["histogram"]; height?: number }) {
  const bars = histogramBars(histogram);
  const total = bars.reduce((s, b) => s + b.count, 0);
  if (total === 0) {
    return (
      <p className="text-xs text-zinc-500" data-testid="feature-histogram-empty">
        It never fired on the analysed tokens.
      </p>
    );
  }
  return (
    <div style={{ height }} data-testid="feature-histogram" data-bins={bars.length} data-total={total}>
      <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 400, height }}>
        <BarChart data={bars} margin={{ top: 6, right: 10, bottom: 0, left: 4 }} barCategoryGap={1}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="centre" tick={AXIS} stroke="#52525b" tickFormatter={(v: number) => formatActivation(v)} minTickGap={24} />
          <YAxis tick={AXIS} stroke="#52525b" width={44} tickFormatter={(v: number) => formatCount(v)} allowDecimals={false} />
          <Tooltip
            {...TOOLTIP}
            labelFormatter={(_, payload) => {
              const bar = payload?.[0]?.payload as HistogramBar | undefined;
              return bar ? `activation ${formatActivation(bar.low)} – ${formatActivation(bar.high)}` : "";
            }}
            formatter={(v) => [formatCount(Number(v)), "tokens"]}
          />
          <Bar dataKey="count" fill="#f59e0b" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

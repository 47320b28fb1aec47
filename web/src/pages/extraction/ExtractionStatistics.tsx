import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { messageOf } from "../../api/client";
import { extractionApi, histogramBins, type Extraction, type ExtractionStatistics as Stats, type HookStatisticsSummary } from "../../api/extraction";
import { Card } from "../../components/Card";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { inputClass } from "../../components/Field";
import { formatCount, formatInteger } from "../../lib/format";

const METRICS = { mean_norm: "mean ‖x‖", max_abs: "max |x|", sparsity: "sparsity" } as const;
type Metric = keyof typeof METRICS;

/** A number for a chart label: 3 significant digits, no exponent for ordinary magnitudes. */
export function short(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** Histogram bins as chart rows, labelled by their centre; on a log axis an empty bin has no bar (null). */
export function histogramRows(summary: HookStatisticsSummary, log = false) {
  return histogramBins(summary.histogram).map((b) => ({
    x: short((b.start + b.end) / 2),
    range: `${short(b.start)} … ${short(b.end)}`,
    count: log && b.count === 0 ? null : b.count,
  }));
}

function SummaryTable({ points, stats }: { points: string[]; stats: Record<string, HookStatisticsSummary> }) {
  return (
    <table className="w-full text-left text-xs" data-testid="extraction-stats-table">
      <thead>
        <tr className="border-b border-zinc-800 text-[10px] tracking-wide text-zinc-500 uppercase">
          <th className="px-2 py-1 font-medium">Hook point</th>
          <th className="px-2 py-1 text-right font-medium">Tokens</th>
          <th className="px-2 py-1 text-right font-medium">d</th>
          <th className="px-2 py-1 text-right font-medium">{METRICS.mean_norm}</th>
          <th className="px-2 py-1 text-right font-medium">{METRICS.max_abs}</th>
          <th className="px-2 py-1 text-right font-medium" title="fraction of values within sparsity_eps of 0">Sparsity</th>
        </tr>
      </thead>
      <tbody className="font-mono">
        {points.map((p) => {
          const s = stats[p]!;
          return (
            <tr key={p} className="border-b border-zinc-800/60" data-testid={`extraction-stats-row-${p}`}>
              <td className="px-2 py-1 text-zinc-100">{p}</td>
              <td className="px-2 py-1 text-right text-zinc-300">{formatInteger(s.tokens)}</td>
              <td className="px-2 py-1 text-right text-zinc-300">{s.d}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{short(s.mean_norm)}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{short(s.max_abs)}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{s.sparsity === null ? "—" : `${(s.sparsity * 100).toFixed(2)}%`}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Chart({ height, children }: { height: number; children: React.ReactElement }) {
  return (
    <div style={{ height }}>
      <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 500, height }}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

/** Per hook point: a table of mean norm, max |x| and sparsity; a chart of one of them; the value histogram; per-dimension variance. */
export function ExtractionStatistics({ extraction }: { extraction: Extraction }) {
  const stats = extraction.statistics ?? {};
  const points = extraction.hook_points.filter((p) => stats[p]);
  const [point, setPoint] = useState(points[0] ?? "");
  const [metric, setMetric] = useState<Metric>("mean_norm");
  // Log counts by default: a few huge outliers stretch the bins, and the tails are invisible on a linear axis.
  const [logY, setLogY] = useState(true);
  const [full, setFull] = useState<Stats | null>(null);
  const [fullError, setFullError] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    extractionApi
      .statistics(extraction.id, ctrl.signal)
      .then((s) => !ctrl.signal.aborted && setFull(s))
      .catch((e) => !ctrl.signal.aborted && setFullError(messageOf(e)));
    return () => ctrl.abort();
  }, [extraction.id]);

  if (points.length === 0) return <p className="text-xs text-zinc-500" data-testid="extraction-stats-empty">No statistics were recorded.</p>;
  const chosen = stats[point] ?? stats[points[0]!]!;
  const across = points.map((p) => ({ point: p.replace(/^blocks\./, "L"), value: stats[p]![metric] ?? 0 }));
  // Log scale: a few dimensions often carry most of the variance; zeros cannot be drawn there.
  const dimVar = full?.[point]?.dim_var ?? [];
  const variance = dimVar.map((v, i) => ({ dim: i, v })).filter((r) => r.v > 0);
  const select = `${inputClass} w-auto py-0.5 text-xs`;
  return (
    <div className="space-y-3" data-testid="extraction-statistics">
      <SummaryTable points={points} stats={stats} />
      <div className="grid items-start gap-3 xl:grid-cols-2">
        <Card
          title="Value histogram"
          actions={
            <>
              <label className="flex items-center gap-1 text-[11px] text-zinc-400">
                <input type="checkbox" className="accent-sky-500" checked={logY} onChange={(e) => setLogY(e.target.checked)} data-testid="extraction-stats-log" />
                log
              </label>
              <select className={select} value={point} onChange={(e) => setPoint(e.target.value)} aria-label="Hook point" data-testid="extraction-stats-point">
                {points.map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            </>
          }
          data-testid="extraction-chart-histogram"
        >
          <Chart height={240}>
            <BarChart data={histogramRows(chosen, logY)} margin={{ top: 8, right: 8, bottom: 4, left: 8 }} barCategoryGap={1}>
              <CartesianGrid stroke={GRID} vertical={false} />
              <XAxis dataKey="x" tick={AXIS} stroke="#52525b" interval="preserveStartEnd" minTickGap={24} />
              <YAxis
                tick={AXIS}
                stroke="#52525b"
                tickFormatter={(v: number) => formatCount(v)}
                width={48}
                scale={logY ? "log" : "auto"}
                domain={logY ? [1, "auto"] : [0, "auto"]}
                allowDataOverflow={logY}
              />
              <Tooltip {...TOOLTIP} formatter={(v) => [formatInteger(Number(v)), "values"]} labelFormatter={(_l, p) => String(p[0]?.payload?.range ?? "")} />
              <Bar dataKey="count" fill="#0ea5e9" isAnimationActive={false} />
            </BarChart>
          </Chart>
        </Card>
        <Card
          title="Across hook points"
          actions={
            <select className={select} value={metric} onChange={(e) => setMetric(e.target.value as Metric)} aria-label="Statistic" data-testid="extraction-stats-metric">
              {(Object.keys(METRICS) as Metric[]).map((m) => (
                <option key={m} value={m}>
                  {METRICS[m]}
                </option>
              ))}
            </select>
          }
          data-testid="extraction-chart-across"
        >
          <Chart height={240}>
            <BarChart data={across} margin={{ top: 8, right: 8, bottom: 4, left: 8 }}>
              <CartesianGrid stroke={GRID} vertical={false} />
              <XAxis dataKey="point" tick={AXIS} stroke="#52525b" interval={0} />
              <YAxis tick={AXIS} stroke="#52525b" tickFormatter={(v: number) => short(v)} width={48} />
              <Tooltip {...TOOLTIP} formatter={(v) => [short(Number(v)), METRICS[metric]]} />
              <Bar dataKey="value" fill="#10b981" radius={[2, 2, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </Chart>
        </Card>
      </div>
      <Card title={`Per-dimension variance · ${point}`} data-testid="extraction-chart-variance">
        {fullError ? (
          <p className="text-xs text-red-300">{fullError}</p>
        ) : variance.length === 0 ? (
          <p className="text-xs text-zinc-500">{full ? "Not recorded for this hook point." : "Loading…"}</p>
        ) : (
          <Chart height={160}>
            <LineChart data={variance} margin={{ top: 8, right: 8, bottom: 4, left: 8 }}>
              <CartesianGrid stroke={GRID} vertical={false} />
              <XAxis dataKey="dim" type="number" domain={[0, Math.max(0, dimVar.length - 1)]} tick={AXIS} stroke="#52525b" minTickGap={32} />
              <YAxis tick={AXIS} stroke="#52525b" tickFormatter={(v: number) => short(v)} width={48} scale="log" domain={["auto", "auto"]} allowDataOverflow />
              <Tooltip {...TOOLTIP} formatter={(v) => [short(Number(v)), "variance"]} labelFormatter={(l) => `dimension ${l}`} />
              <Line dataKey="v" stroke="#a78bfa" dot={false} strokeWidth={1} isAnimationActive={false} />
            </LineChart>
          </Chart>
        )}
      </Card>
    </div>
  );
}

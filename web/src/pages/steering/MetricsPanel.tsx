import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { SteeringMetrics } from "../../api/steering";
import { Card } from "../../components/Card";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { Table } from "../../components/Table";
import { formatFigure } from "./figures";

function Figure({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="rounded border border-zinc-800 bg-zinc-950/60 px-2 py-1.5" title={hint}>
      <div className="text-[11px] text-zinc-500">{label}</div>
      <div className="font-mono text-sm text-zinc-100" data-testid={testId}>{value}</div>
    </div>
  );
}

/** What steering did to the run, measured: KL per position, fluency, named tokens, the features' activations. */
export function MetricsPanel({ metrics }: { metrics: SteeringMetrics }) {
  const kl = metrics.kl_per_position.map((value, position) => ({ position, kl: value }));
  return (
    <Card title="Metrics" bodyClassName="space-y-3 p-3" data-testid="steering-metrics">
      <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
        <Figure label="KL mean (steered ‖ baseline)" value={formatFigure(metrics.kl_mean)} testId="metric-kl-mean"
          hint="on the baseline's text, teacher-forced, nats per position" />
        <Figure label="Perplexity, baseline" value={formatFigure(metrics.perplexity_baseline)} testId="metric-ppl-baseline"
          hint="under the unsteered model" />
        <Figure label="Perplexity, steered" value={formatFigure(metrics.perplexity_steered)} testId="metric-ppl-steered"
          hint="under the unsteered model: what steering cost in fluency" />
        <Figure label="Word overlap" value={`${Math.round(metrics.word_overlap * 100)}%`} testId="metric-word-overlap" />
      </div>
      <div>
        <h3 className="mb-1 text-[11px] text-zinc-400">KL divergence per position of the baseline's output</h3>
        {kl.length === 0 ? <p className="text-xs text-zinc-500">No positions measured.</p> : (
          <div style={{ height: 140 }} data-testid="metric-kl-chart" data-points={kl.length}>
            <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 500, height: 140 }}>
              <BarChart data={kl} margin={{ top: 4, right: 8, bottom: 0, left: 4 }}>
                <CartesianGrid stroke={GRID} vertical={false} />
                <XAxis dataKey="position" tick={AXIS} stroke="#52525b" minTickGap={16} />
                <YAxis tick={AXIS} stroke="#52525b" width={48} tickFormatter={(v: number) => formatFigure(v)} />
                <Tooltip {...TOOLTIP} labelFormatter={(p) => `position ${String(p)}`} formatter={(v) => [formatFigure(Number(v)), "KL"]} />
                <Bar dataKey="kl" fill="#38bdf8" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </div>
      {metrics.token_shifts.length > 0 && (
        <Table caption="Probability of the named tokens" data-testid="metric-token-shifts" rows={metrics.token_shifts}
          rowKey={(row) => `${row.token}-${row.token_id}`}
          columns={[
            { key: "token", header: "Token", render: (row) => <code>{JSON.stringify(row.token)}</code> },
            { key: "base", header: "p next, baseline", render: (row) => formatFigure(row.baseline_next) },
            { key: "steered", header: "p next, steered", render: (row) => formatFigure(row.steered_next) },
            { key: "shift", header: "mean shift over the output", render: (row) => formatFigure(row.mean_shift, true) },
          ]} />
      )}
      {metrics.feature_activations.length > 0 && (
        <Table caption="The steered features' activations on the output" data-testid="metric-feature-activations"
          rows={metrics.feature_activations} rowKey={(row) => `${row.hook_point}-${row.feature}`}
          columns={[
            { key: "feature", header: "Feature", render: (row) => `#${row.feature} at ${row.hook_point}` },
            { key: "bmean", header: "baseline mean / max", render: (row) => `${formatFigure(row.baseline_mean)} / ${formatFigure(row.baseline_max)}` },
            { key: "smean", header: "steered mean / max", render: (row) => `${formatFigure(row.steered_mean)} / ${formatFigure(row.steered_max)}` },
          ]} />
      )}
    </Card>
  );
}

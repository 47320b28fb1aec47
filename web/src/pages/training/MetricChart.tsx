import { CartesianGrid, Legend, Line as ChartLine, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Card } from "../../components/Card";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { formatCount } from "../../lib/format";
import { chartRows, formatMetric, type ChartMetric, type Line } from "./metrics";

/** One metric over the steps, one line per SAE (of one run or several); `data-points` counts the rows drawn. */
export function MetricChart({ metric, lines, height = 180, testId }: { metric: ChartMetric; lines: readonly Line[]; height?: number; testId: string }) {
  const rows = chartRows(lines, metric.key);
  // A log axis cannot draw zeros or negatives (a loss is neither, but be safe with other metrics).
  const log = metric.log === true && rows.every((r) => lines.every((l) => r[l.key] === undefined || r[l.key]! > 0));
  // All zeros (no dead latents yet, say): an axis from 0 to 1 keeps the line visible on its floor.
  const flatZero = rows.every((r) => lines.every((l) => !r[l.key]));
  return (
    <Card title={metric.label} data-testid={testId} data-points={rows.length} bodyClassName="p-2">
      {rows.length === 0 ? (
        <div className="flex items-center justify-center text-xs text-zinc-500" style={{ height }}>
          No steps logged yet.
        </div>
      ) : (
        <div style={{ height }}>
          <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 400, height }}>
            <LineChart data={rows} margin={{ top: 6, right: 10, bottom: 0, left: 4 }}>
              <CartesianGrid stroke={GRID} vertical={false} />
              <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} tick={AXIS} stroke="#52525b" tickFormatter={(v: number) => formatCount(v)} minTickGap={24} />
              <YAxis
                tick={AXIS}
                stroke="#52525b"
                width={52}
                tickFormatter={(v: number) => formatMetric(v)}
                scale={log ? "log" : "auto"}
                domain={log ? [(min: number) => min / 1.2, (max: number) => max * 1.2] : flatZero ? [0, 1] : [(min: number) => (min >= 0 ? 0 : min), "auto"]}
              />
              <Tooltip
                {...TOOLTIP}
                itemStyle={{}}
                cursor={{ stroke: "#52525b" }}
                labelFormatter={(step) => `step ${Number(step).toLocaleString("en-US")}`}
                formatter={(v, name) => [formatMetric(Number(v)), name]}
              />
              {lines.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
              {lines.map((l) => (
                <ChartLine key={l.key} dataKey={l.key} name={l.label} stroke={l.color} dot={false} strokeWidth={1.5} connectNulls isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

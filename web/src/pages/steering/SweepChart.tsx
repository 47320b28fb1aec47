import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { SweepPoint } from "../../api/steering";
import { inputClass } from "../../components/Field";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { formatFigure } from "./figures";
import { sweepMetrics, sweepRows } from "./sweep";

/** One metric of the sweep against strength: the intervention, and the random direction of the same norm. */
export function SweepChart({ points }: { points: readonly SweepPoint[] }) {
  const metrics = sweepMetrics(points);
  const [key, setKey] = useState("kl_mean");
  const metric = metrics.find((m) => m.key === key) ?? metrics[0]!;
  const rows = sweepRows(points, metric);
  const hasRandom = points.some((p) => p.kind === "random");
  return (
    <div className="space-y-2" data-testid="sweep-chart" data-points={rows.length}>
      <label className="flex items-center gap-2 text-xs text-zinc-300">
        Metric
        <select className={`${inputClass} w-auto`} value={metric.key} onChange={(e) => setKey(e.target.value)} data-testid="sweep-metric">
          {metrics.map((m) => <option key={m.key} value={m.key}>{m.label}</option>)}
        </select>
      </label>
      <div style={{ height: 240 }}>
        <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 600, height: 240 }}>
          <LineChart data={rows} margin={{ top: 6, right: 12, bottom: 4, left: 4 }}>
            <CartesianGrid stroke={GRID} vertical={false} />
            <XAxis dataKey="strength" type="number" domain={["dataMin", "dataMax"]} tick={AXIS} stroke="#52525b"
              label={{ value: "strength", position: "insideBottomRight", offset: -2, fill: "#71717a", fontSize: 11 }} />
            <YAxis tick={AXIS} stroke="#52525b" width={56} tickFormatter={(v: number) => formatFigure(v)} />
            <Tooltip {...TOOLTIP} itemStyle={{}} cursor={{ stroke: "#52525b" }} labelFormatter={(s) => `strength ${String(s)}`}
              formatter={(v, name) => [formatFigure(Number(v)), name]} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            <Line dataKey="intervention" name="intervention" stroke="#38bdf8" strokeWidth={1.5} connectNulls isAnimationActive={false} />
            {hasRandom && <Line dataKey="random" name="random direction (same norm)" stroke="#a1a1aa" strokeDasharray="4 3"
              strokeWidth={1.5} connectNulls isAnimationActive={false} />}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}

import { useEffect, useMemo } from "react";
import { Download } from "lucide-react";
import type { MetricPoint, Training } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Link } from "../../lib/router";
import { useConnection } from "../../stores/live";
import { useTrainings } from "../../stores/training";
import { reportError } from "../../stores/toasts";
import { MetricChart } from "./MetricChart";
import { DASHBOARD_METRICS, downloadText, finalFigure, formatFraction, formatMetric, memberLabel, runLines, toCsv, toJson } from "./metrics";

const NONE: MetricPoint[] = [];

/**
 * Follow a run's metrics: load them now, on every (re)connect, and whenever the row is ahead of the series (live
 * steps missed while the socket was down; the last steps once it finished). Live steps arrive through the store.
 */
export function useRunMetrics(training: Training | undefined): MetricPoint[] {
  const id = training?.id;
  const epoch = useConnection((s) => s.epoch);
  const points = useTrainings((s) => (id ? (s.series[id] ?? NONE) : NONE));
  const fetchMetrics = useTrainings((s) => s.fetchMetrics);
  const last = points.length ? points[points.length - 1]!.step : -1;
  const behind = training !== undefined && points.length > 0 && training.steps_done > last;
  const load = (run: string, signal: AbortSignal) =>
    fetchMetrics(run, signal).catch((e) => !signal.aborted && reportError(e, "Could not load the metrics"));
  useEffect(() => {
    if (!id) return;
    const ctrl = new AbortController();
    void load(id, ctrl.signal);
    return () => ctrl.abort();
  }, [id, epoch, training?.status]);
  useEffect(() => {
    if (!id || !behind) return;
    const ctrl = new AbortController();
    void load(id, ctrl.signal);
    return () => ctrl.abort();
  }, [id, behind]);
  return points;
}

/** Per SAE: hold-out FVU, L0, dead fraction, CE loss recovered and KL in the model, with a link to the stored SAE. */
export function FinalMetricsTable({ training }: { training: Training }) {
  const final = training.final_metrics ?? [];
  return (
    <table className="w-full text-left text-xs" data-testid="training-final-metrics">
      <thead>
        <tr className="border-b border-zinc-800 text-[11px] tracking-wide text-zinc-500 uppercase">
          <th className="px-2 py-1 font-medium">SAE</th>
          <th className="px-2 py-1 text-right font-medium" title="fraction of variance unexplained on held-out tokens">Hold-out FVU</th>
          <th className="px-2 py-1 text-right font-medium" title="active latents per token on held-out tokens">L0</th>
          <th className="px-2 py-1 text-right font-medium" title="latents that did not fire in the last window">Dead</th>
          <th className="px-2 py-1 text-right font-medium" title="share of the CE loss gap (zero-ablation vs clean) the SAE closes when spliced into the model">CE recovered</th>
          <th className="px-2 py-1 text-right font-medium" title="KL divergence of the model's next-token distribution with the SAE spliced in">KL</th>
        </tr>
      </thead>
      <tbody className="font-mono">
        {final.map((values, i) => {
          const saeId = training.sae_ids[i];
          return (
            <tr key={i} className="border-b border-zinc-800/60" data-testid={`training-final-row-${i}`}>
              <td className="px-2 py-1 text-zinc-100">
                {saeId ? (
                  <Link href={`/training/saes/${saeId}`} className="text-sky-300 hover:underline" data-testid={`training-sae-link-${i}`}>
                    #{i} {memberLabel(training, i)}
                  </Link>
                ) : (
                  `#${i} ${memberLabel(training, i)}`
                )}
              </td>
              <td className="px-2 py-1 text-right text-zinc-200">{formatMetric(finalFigure(values, "fvu"))}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{formatMetric(finalFigure(values, "l0"))}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{formatFraction(finalFigure(values, "dead_fraction"))}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{formatFraction(finalFigure(values, "ce_recovered"))}</td>
              <td className="px-2 py-1 text-right text-zinc-200">{formatMetric(finalFigure(values, "kl"))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The live dashboard of a run: a chart per metric (one line per SAE), the final figures once it ends, and downloads. */
export function RunDashboard({ training, points }: { training: Training; points: readonly MetricPoint[] }) {
  const lines = useMemo(() => runLines(training, points), [training, points]);
  const steps = new Set(points.map((p) => p.step)).size;
  const file = training.name.replace(/[^\w.-]+/g, "_");
  return (
    <div className="space-y-4" data-testid="training-dashboard" data-steps={steps}>
      {training.final_metrics && training.final_metrics.length > 0 && (
        <Card title="Final metrics" data-testid="training-final-card">
          <FinalMetricsTable training={training} />
        </Card>
      )}
      <div className="flex items-center gap-2">
        <span className="text-xs text-zinc-500">
          {steps} logged step{steps === 1 ? "" : "s"} × {lines.length} SAE{lines.length === 1 ? "" : "s"}
        </span>
        <span className="ml-auto flex gap-1.5">
          <Button size="sm" disabled={points.length === 0} onClick={() => downloadText(`${file}_metrics.csv`, "text/csv", toCsv(points))} data-testid="training-download-csv">
            <Download className="size-3" aria-hidden /> CSV
          </Button>
          <Button size="sm" disabled={points.length === 0} onClick={() => downloadText(`${file}_metrics.json`, "application/json", toJson(training, points))} data-testid="training-download-json">
            <Download className="size-3" aria-hidden /> JSON
          </Button>
        </span>
      </div>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {DASHBOARD_METRICS.map((m) => (
          <MetricChart key={m.key} metric={m} lines={lines} testId={`training-chart-${m.key}`} />
        ))}
      </div>
    </div>
  );
}

import { useEffect, useMemo } from "react";
import { ArrowLeft } from "lucide-react";
import type { MetricPoint, Training } from "../../api/training";
import { Card } from "../../components/Card";
import { StatusBadge } from "../../components/StatusBadge";
import { Link, useLocation } from "../../lib/router";
import { useConnection } from "../../stores/live";
import { useTrainings } from "../../stores/training";
import { reportError } from "../../stores/toasts";
import { MetricChart } from "./MetricChart";
import { finalFigure, formatFraction, formatMetric, lineColor, memberLabel, type Line } from "./metrics";

const COMPARED = [
  { key: "fvu", label: "FVU" },
  { key: "l0", label: "L0" },
] as const;

/** The runs' rows and metrics, loaded now and on every (re)connect (live steps of running ones come through the store). */
function useCompared(ids: readonly string[]) {
  const epoch = useConnection((s) => s.epoch);
  const trainings = useTrainings((s) => s.trainings);
  const series = useTrainings((s) => s.series);
  const key = ids.join(",");
  useEffect(() => {
    const ctrl = new AbortController();
    const { fetchTraining, fetchMetrics } = useTrainings.getState();
    for (const id of ids) {
      fetchTraining(id, ctrl.signal).catch((e) => !ctrl.signal.aborted && reportError(e, "Could not load a training"));
      fetchMetrics(id, ctrl.signal).catch((e) => !ctrl.signal.aborted && reportError(e, "Could not load a training's metrics"));
    }
    return () => ctrl.abort();
  }, [key, epoch]);
  return ids.map((id) => ({ id, training: trainings[id], points: series[id] ?? [] }));
}

interface ComparedRun {
  id: string;
  training: Training | undefined;
  points: readonly MetricPoint[];
}

/** One line per SAE of each run, each its own colour (the table's dots match them); `id` is "run:member". */
export function compareLines(runs: readonly ComparedRun[]): (Line & { id: string })[] {
  const lines: (Line & { id: string })[] = [];
  runs.forEach((run, r) => {
    const t = run.training;
    if (!t) return;
    const count = Math.max(t.members.length, 1);
    for (let member = 0; member < count; member++) {
      lines.push({
        id: `${run.id}:${member}`,
        key: `r${r}m${member}`,
        label: count > 1 ? `${t.name} #${member}` : t.name,
        color: lineColor(lines.length),
        points: run.points.filter((p) => p.member === member),
      });
    }
  });
  return lines;
}

/** /training/compare?ids=a,b — overlaid FVU and L0 of two runs or more, and their final figures side by side. */
export function CompareView() {
  const { search } = useLocation();
  const ids = useMemo(() => (search.get("ids") ?? "").split(",").filter(Boolean), [search]);
  const runs = useCompared(ids);
  const lines = useMemo(() => compareLines(runs), [runs]);
  const colors = new Map(lines.map((l) => [l.id, l.color]));
  const colorOf = (lineId: string) => colors.get(lineId) ?? "transparent";

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="training-compare">
      <div>
        <Link href="/training" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200" data-testid="training-compare-back">
          <ArrowLeft className="size-3.5" aria-hidden /> Training
        </Link>
        <h1 className="mt-1 text-lg font-semibold text-zinc-50">Compare runs</h1>
        <p className="text-xs text-zinc-400">FVU and L0 over the steps, one line per SAE; final figures on held-out tokens once a run has ended.</p>
      </div>
      {ids.length < 2 ? (
        <p className="text-sm text-zinc-400" data-testid="training-compare-empty">
          Tick two runs or more in the <Link href="/training" className="text-sky-300 hover:underline">runs list</Link> to compare them.
        </p>
      ) : (
        <>
          <div className="grid gap-3 lg:grid-cols-2">
            {COMPARED.map((m) => (
              <MetricChart key={m.key} metric={m} lines={lines} height={260} testId={`compare-chart-${m.key}`} />
            ))}
          </div>
          <Card title="Final figures">
            <table className="w-full text-left text-xs" data-testid="compare-table">
              <thead>
                <tr className="border-b border-zinc-800 text-[11px] tracking-wide text-zinc-500 uppercase">
                  <th className="px-2 py-1 font-medium">Run</th>
                  <th className="px-2 py-1 font-medium">Status</th>
                  <th className="px-2 py-1 font-medium">SAE</th>
                  <th className="px-2 py-1 text-right font-medium">FVU</th>
                  <th className="px-2 py-1 text-right font-medium">L0</th>
                  <th className="px-2 py-1 text-right font-medium">Dead</th>
                  <th className="px-2 py-1 text-right font-medium">CE recovered</th>
                </tr>
              </thead>
              <tbody className="font-mono">
                {runs.flatMap(({ id, training: t }) => {
                  if (!t) {
                    return [
                      <tr key={id} className="border-b border-zinc-800/60">
                        <td className="px-2 py-1 text-zinc-500" colSpan={7}>
                          {id}: loading…
                        </td>
                      </tr>,
                    ];
                  }
                  // Before a run ends its latest logged figures stand in for the final ones.
                  const figures = t.final_metrics ?? t.latest_metrics ?? [];
                  return t.members.map((_, member) => {
                    const values = figures[member];
                    return (
                      <tr key={`${id}-${member}`} className="border-b border-zinc-800/60" data-testid={`compare-row-${id}-${member}`}>
                        <td className="px-2 py-1">
                          <span className="mr-1.5 inline-block size-2 rounded-full" style={{ background: colorOf(`${id}:${member}`) }} aria-hidden />
                          <Link href={`/training/${id}`} className="text-sky-300 hover:underline">
                            {t.name}
                          </Link>
                        </td>
                        <td className="px-2 py-1">
                          <StatusBadge status={t.status} />
                        </td>
                        <td className="px-2 py-1 text-zinc-300">
                          #{member} {memberLabel(t, member)}
                        </td>
                        <td className="px-2 py-1 text-right text-zinc-200">{formatMetric(finalFigure(values, "fvu"))}</td>
                        <td className="px-2 py-1 text-right text-zinc-200">{formatMetric(finalFigure(values, "l0"))}</td>
                        <td className="px-2 py-1 text-right text-zinc-200">{formatFraction(finalFigure(values, "dead_fraction"))}</td>
                        <td className="px-2 py-1 text-right text-zinc-200">{formatFraction(finalFigure(values, "ce_recovered"))}</td>
                      </tr>
                    );
                  });
                })}
              </tbody>
            </table>
          </Card>
        </>
      )}
    </div>
  );
}

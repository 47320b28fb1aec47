/** The sweep's figures as chart rows: one row per strength, the intervention and the random control side by side. */
import type { SteeringMetrics, SweepPoint } from "../../api/steering";

export interface SweepMetric {
  key: string;
  label: string;
  read: (metrics: SteeringMetrics) => number | null;
}

/** The metrics a sweep charts; a named token's shift and a feature's activation when the request has them. */
export function sweepMetrics(points: readonly SweepPoint[]): SweepMetric[] {
  const sample = points[0]?.metrics;
  const metrics: SweepMetric[] = [
    { key: "kl_mean", label: "KL mean (steered ‖ baseline)", read: (m) => m.kl_mean },
    { key: "perplexity_steered", label: "Perplexity of the steered output", read: (m) => m.perplexity_steered },
    { key: "word_overlap", label: "Word overlap with the baseline", read: (m) => m.word_overlap },
  ];
  for (const [index, shift] of (sample?.token_shifts ?? []).entries()) {
    metrics.push({ key: `token_${index}`, label: `Mean probability shift of ${JSON.stringify(shift.token)}`,
      read: (m) => m.token_shifts[index]?.mean_shift ?? null });
  }
  for (const [index, activation] of (sample?.feature_activations ?? []).entries()) {
    metrics.push({ key: `feature_${index}`, label: `Feature #${activation.feature} mean activation`,
      read: (m) => m.feature_activations[index]?.steered_mean ?? null });
  }
  return metrics;
}

export interface SweepRow {
  strength: number;
  intervention?: number | null;
  random?: number | null;
}

export function sweepRows(points: readonly SweepPoint[], metric: SweepMetric): SweepRow[] {
  const rows = new Map<number, SweepRow>();
  for (const point of points) {
    const row = rows.get(point.strength) ?? { strength: point.strength };
    row[point.kind] = metric.read(point.metrics);
    rows.set(point.strength, row);
  }
  return [...rows.values()].sort((a, b) => a.strength - b.strength);
}

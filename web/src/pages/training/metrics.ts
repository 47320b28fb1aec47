/** A run's metric points as chart rows, lines, final figures and downloads (pure, so the charts and tests share them). */
import type { MetricPoint, MetricValues, Training } from "../../api/training";
import { hookPointsOf, memberSummary } from "../../api/training";

export interface ChartMetric {
  key: string;
  label: string;
  /** Drawn on a log axis (values spanning decades). */
  log?: boolean;
}

/** The dashboard's charts, in order. */
export const DASHBOARD_METRICS: readonly ChartMetric[] = [
  { key: "loss", label: "Loss", log: true },
  { key: "fvu", label: "FVU" },
  { key: "l0", label: "L0" },
  { key: "dead_fraction", label: "Dead fraction" },
  { key: "lr", label: "Learning rate" },
  { key: "tokens_per_second", label: "Tokens/s" },
];

/** Distinct colours for up to 8 SAEs of a sweep (and more runs: they cycle). */
const COLORS = ["#38bdf8", "#f472b6", "#a3e635", "#fbbf24", "#a78bfa", "#34d399", "#fb7185", "#e4e4e7"];
export const lineColor = (i: number): string => COLORS[i % COLORS.length]!;

/** One line of a chart: the points of one SAE (of one run), under `key` in the rows. */
export interface Line {
  key: string;
  label: string;
  color: string;
  points: readonly MetricPoint[];
}

/** What a sweep's SAE differs by, in a few words: "topk k=32 2,048 latents", led by its hook point when they differ. */
export function memberLabel(t: Pick<Training, "members" | "hook_point">, member: number): string {
  const m = t.members[member];
  if (!m) return `SAE ${member}`;
  const s = memberSummary(m);
  const parts = hookPointsOf(t).length > 1 && s.hookPoint ? [s.hookPoint, s.architecture] : [s.architecture];
  if (s.k !== null) parts.push(`k=${s.k}`);
  if (s.width !== null) parts.push(`${s.width.toLocaleString("en-US")} latents`);
  if (t.members.length > 1 && s.lr !== null) parts.push(`lr ${s.lr}`);
  if (s.k === null && s.sparsityCoefficient !== null) parts.push(`coef ${s.sparsityCoefficient}`);
  return parts.join(" ");
}

/** One line per SAE of a run. */
export function runLines(t: Pick<Training, "members" | "hook_point">, points: readonly MetricPoint[]): Line[] {
  const count = Math.max(t.members.length, ...points.map((p) => p.member + 1));
  return Array.from({ length: count }, (_, member) => ({
    key: `m${member}`,
    label: count > 1 ? `#${member} ${memberLabel(t, member)}` : memberLabel(t, member),
    color: lineColor(member),
    points: points.filter((p) => p.member === member),
  }));
}

export type ChartRow = { step: number } & Record<string, number>;

/** Rows by step with each line's value of `metric` under its key (a line without that step has no key there). */
export function chartRows(lines: readonly Line[], metric: string): ChartRow[] {
  const rows = new Map<number, ChartRow>();
  for (const line of lines) {
    for (const p of line.points) {
      const v = p.values[metric];
      if (v === undefined || !Number.isFinite(v)) continue;
      let row = rows.get(p.step);
      if (!row) rows.set(p.step, (row = { step: p.step } as ChartRow));
      row[line.key] = v;
    }
  }
  return [...rows.values()].sort((a, b) => a.step - b.step);
}

/** Every metric name the points carry, in a stable order (the common ones first). */
export function metricNames(points: readonly MetricPoint[]): string[] {
  const names = new Set<string>();
  for (const p of points) for (const k of Object.keys(p.values)) names.add(k);
  const first = ["step", "tokens", "loss", "mse", "fvu", "explained_variance", "l0", "dead_fraction", "dense_fraction", "lr"];
  return [...first.filter((k) => names.has(k)), ...[...names].filter((k) => !first.includes(k)).sort()];
}

/** The points as CSV: `member,step,<metric>…`, one row per SAE and step. */
export function toCsv(points: readonly MetricPoint[]): string {
  const names = metricNames(points).filter((k) => k !== "step");
  const lines = [["member", "step", ...names].join(",")];
  for (const p of points) lines.push([p.member, p.step, ...names.map((k) => (p.values[k] === undefined ? "" : String(p.values[k])))].join(","));
  return `${lines.join("\n")}\n`;
}

/** The run and its points as one JSON document. */
export function toJson(t: Training, points: readonly MetricPoint[]): string {
  const { id, name, model_id, model_name, extraction_id, hook_point, target_hook_point, members, settings, final_metrics } = t;
  return JSON.stringify({ training: { id, name, model_id, model_name, extraction_id, hook_point, target_hook_point, members, settings, final_metrics }, metrics: points }, null, 2);
}

/** Save `text` as a file the browser downloads. */
export function downloadText(filename: string, mime: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A final (or latest) figure of one SAE: the hold-out value when the run measured one, else the last logged one. */
export function finalFigure(values: MetricValues | undefined, key: "fvu" | "l0" | "dead_fraction" | "ce_recovered" | "kl"): number | null {
  if (!values) return null;
  const v = key === "ce_recovered" || key === "kl" ? values[`model_${key}`] : (values[`holdout_${key}`] ?? values[key]);
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** A metric for a table or tooltip: 3 significant digits, exponent for tiny or huge magnitudes. */
export function formatMetric(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** A fraction as a percentage with one decimal. */
export const formatFraction = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "—" : `${(v * 100).toFixed(1)}%`);

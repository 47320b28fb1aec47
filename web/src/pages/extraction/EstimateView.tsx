import { type ReactNode } from "react";
import { useDebouncedEstimate } from "../../lib/useDebouncedEstimate";
import { AlertTriangle, Loader2 } from "lucide-react";
import { extractionApi, type ExtractionEstimate, type ExtractRequest } from "../../api/extraction";
import { cn } from "../../lib/cn";
import { formatBytes, formatEta, formatInteger } from "../../lib/format";

/**
 * A calibrated estimate of `request`, asked as the form changes (null: the form is not valid yet). The first one
 * for a model and format loads the model to time a batch; later ones are fast.
 */
export function useEstimate(modelId: string, request: ExtractRequest | null) {
  return useDebouncedEstimate(request, (r, signal) => extractionApi.estimate(modelId, r, true, signal), modelId);
}

/** One figure of an estimate: a label, the value, and what it counts. */
export function Figure({ label, value, sub, testId, tone }: { label: string; value: ReactNode; sub?: ReactNode; testId: string; tone?: "red" }) {
  return (
    <div className="rounded border border-zinc-800 bg-zinc-950/60 px-2 py-1.5" data-testid={testId}>
      <div className="text-[10px] tracking-wide text-zinc-500 uppercase">{label}</div>
      <div className={cn("font-mono text-base tabular-nums", tone === "red" ? "text-red-300" : "text-zinc-50")}>{value}</div>
      {sub && <div className="font-mono text-[11px] text-zinc-500">{sub}</div>}
    </div>
  );
}

function calibrationNote(e: ExtractionEstimate): string {
  const c = e.calibration;
  if (!c) return "time not measured";
  const how = c.reused ? "from an earlier measurement" : "measured just now";
  return `time ${how}: ${c.samples} samples (${formatInteger(c.tokens)} tokens) through ${c.layers_run} layers in ${c.seconds.toFixed(2)} s, ${c.format} on ${c.device}`;
}

/** Time, storage, peak memory and free disk of the estimate; its warnings in amber; why it cannot start. */
export function EstimateView({ estimate, loading, error }: { estimate: ExtractionEstimate | null; loading: boolean; error: string | null }) {
  if (!estimate) {
    return (
      <div className="text-xs text-zinc-500" data-testid="extract-estimate" data-state={loading ? "loading" : error ? "error" : "idle"}>
        {loading ? (
          <span className="flex items-center gap-1.5">
            <Loader2 className="size-3.5 animate-spin" aria-hidden /> Estimating… the first estimate loads the model once to time a batch.
          </span>
        ) : error ? (
          <p className="text-red-300" data-testid="extract-estimate-error">{error}</p>
        ) : (
          "Choose a tokenization, layers and hook points to see how long it takes and how much it stores."
        )}
      </div>
    );
  }
  const e = estimate;
  const memoryLow = e.available_memory_bytes !== null && e.peak_memory_bytes > e.available_memory_bytes;
  return (
    <div className={cn("space-y-2", loading && "opacity-60")} data-testid="extract-estimate" data-state={loading ? "loading" : "ready"} data-can-start={e.can_start}>
      <div className="grid grid-cols-2 gap-2 xl:grid-cols-4">
        <Figure label="Time" value={e.seconds === null ? "—" : `≈ ${formatEta(e.seconds)}`} sub={`${e.layers_run} layers run`} testId="extract-estimate-time" />
        <Figure label="Storage" value={formatBytes(e.storage_bytes)} sub={`${e.hook_points.length} hook point${e.hook_points.length === 1 ? "" : "s"}`} testId="extract-estimate-storage" tone={e.can_start ? undefined : "red"} />
        <Figure label="Peak memory" value={formatBytes(e.peak_memory_bytes)} sub={e.available_memory_bytes === null ? "free: unknown" : `${formatBytes(e.available_memory_bytes)} free`} testId="extract-estimate-memory" tone={memoryLow ? "red" : undefined} />
        <Figure label="Free disk" value={formatBytes(e.free_disk_bytes)} sub="on the data disk" testId="extract-estimate-disk" />
      </div>
      <p className="font-mono text-[11px] text-zinc-400" data-testid="extract-estimate-shape">
        {formatInteger(e.samples)} samples × {e.seq_len} tokens × d {e.d_model} × {e.hook_points.length} hook points
      </p>
      <p className="text-[11px] text-zinc-500" data-testid="extract-estimate-calibration">
        {calibrationNote(e)}
      </p>
      {e.warnings.length > 0 && (
        <ul className="space-y-1" data-testid="extract-warnings">
          {e.warnings.map((w) => (
            <li key={w} className="flex gap-1.5 rounded border border-amber-900 bg-amber-950/40 px-2 py-1 text-xs text-amber-200" data-testid="extract-warning">
              <AlertTriangle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
              {w}
            </li>
          ))}
        </ul>
      )}
      {error && <p className="text-xs text-red-300" data-testid="extract-estimate-error">{error}</p>}
    </div>
  );
}

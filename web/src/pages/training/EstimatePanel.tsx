/** The training form's live estimate: the server's time, memory and disk for the run, asked as the form changes. */
import { AlertTriangle, Loader2 } from "lucide-react";
import { trainingApi, type TrainingEstimate, type TrainRequest } from "../../api/training";
import { cn } from "../../lib/cn";
import { formatBytes, formatCount, formatEta, formatInteger } from "../../lib/format";
import { useDebouncedEstimate } from "../../lib/useDebouncedEstimate";
import { Figure } from "../extraction/EstimateView";

/**
 * The server's estimate of `request`, asked as the form changes (null: the form is not valid yet). Its error
 * (often a field the server refuses) is the caller's to place; a refusal is about the request before the change,
 * so it is cleared while the next answer is awaited.
 */
export function useTrainingEstimate(request: TrainRequest | null) {
  return useDebouncedEstimate(request, (r, signal) => trainingApi.estimate(r, signal), "", true);
}

/** One step's measured time: "4.2 ms", "160 ms", "1.3 s". */
export function stepTime(seconds: number): string {
  const ms = seconds * 1000;
  if (ms >= 1000) return `${seconds.toFixed(1)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Time, memory, disk, tokens and parameters of the run; its warnings in amber; a refusal the form cannot place. */
export function EstimatePanel({
  estimate,
  loading,
  error,
  streamed,
  idle,
}: {
  estimate: TrainingEstimate | null;
  loading: boolean;
  error: string | null;
  streamed: boolean;
  /** What to say while there is nothing to estimate. */
  idle: string;
}) {
  if (!estimate) {
    return (
      <div className="text-xs text-zinc-500" data-testid="train-estimate" data-state={loading ? "loading" : error ? "error" : "idle"}>
        {loading ? (
          <span className="flex items-center gap-1.5">
            <Loader2 className="size-3.5 animate-spin" aria-hidden /> Estimating… the first estimate of a shape times a few real SAE steps.
          </span>
        ) : error ? (
          <p className="text-red-300" data-testid="train-estimate-error">{error}</p>
        ) : (
          idle
        )}
      </div>
    );
  }
  const e = estimate;
  const parameters = e.saes.reduce((sum, s) => sum + s.parameters, 0);
  const perStep = e.saes.reduce((sum, s) => sum + s.seconds_per_step, 0);
  return (
    <div className={cn("space-y-2", loading && "opacity-60")} data-testid="train-estimate" data-state={loading ? "loading" : "ready"}>
      <div className="grid grid-cols-2 gap-2 md:grid-cols-5">
        <Figure
          label={streamed ? "Time (SAE steps)" : "Time"}
          value={`≈ ${formatEta(e.seconds)}`}
          sub={`${formatInteger(e.total_steps)} steps × ${stepTime(perStep)}`}
          testId="train-estimate-time"
        />
        <Figure label="Memory" value={formatBytes(e.memory_bytes)} sub="SAEs, Adam, a batch, the buffer" testId="train-estimate-memory" />
        <Figure label="Disk" value={formatBytes(e.disk_bytes)} sub="checkpoints and the saved SAEs" testId="train-estimate-disk" />
        <Figure label="Tokens" value={formatCount(e.tokens)} sub={`${e.epochs.toFixed(e.epochs < 10 ? 2 : 0)} epochs of ${formatCount(e.train_tokens)}`} testId="train-estimate-tokens" />
        <Figure label="Parameters" value={formatCount(parameters)} sub={e.saes.length > 1 ? `${e.saes.length} SAEs` : "weights and biases"} testId="train-estimate-parameters" />
      </div>
      {e.warnings.length > 0 && (
        <ul className="space-y-1" data-testid="train-warnings">
          {e.warnings.map((w) => (
            <li key={w} className="flex gap-1.5 rounded border border-amber-900 bg-amber-950/40 px-2 py-1 text-xs text-amber-200" data-testid="train-warning">
              <AlertTriangle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
              {w}
            </li>
          ))}
        </ul>
      )}
      {error && <p className="text-xs text-red-300" data-testid="train-estimate-error">{error}</p>}
    </div>
  );
}

import { useState } from "react";
import { Loader2, Play, Square } from "lucide-react";
import type { Extraction, ExtractionProgressEvent } from "../../api/extraction";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { formatEta, formatInteger } from "../../lib/format";
import { useExtractions } from "../../stores/extraction";
import { useJobs } from "../../stores/jobs";

/** The figures of a running extraction: the latest live event, else (after a reload) the row's own. */
export function progressFigures(e: Extraction, live: ExtractionProgressEvent | undefined) {
  const done = live?.samples_done ?? e.samples_done;
  const total = live?.samples_total ?? e.num_samples;
  const samplesPerSecond = live?.samples_per_second ?? e.samples_per_second;
  const eta = live ? live.eta_seconds : samplesPerSecond ? (total - done) / samplesPerSecond : null;
  return {
    done,
    total,
    samplesPerSecond,
    tokensPerSecond: live?.tokens_per_second ?? e.tokens_per_second,
    eta,
    batchSize: live?.batch_size ?? e.final_batch_size ?? e.batch_size,
  };
}

/** Samples done of total, samples/s, tokens/s, ETA and batch size, with the bar; the job's message before the first batch. */
export function ExtractionProgress({ extraction }: { extraction: Extraction }) {
  const live = useExtractions((s) => s.progress[extraction.id]);
  const job = useJobs((s) => (extraction.job_id ? s.active[extraction.job_id] : undefined));
  const f = progressFigures(extraction, live);
  const started = live !== undefined || f.done > 0;
  const rate = (v: number | null) => (v ? `${v.toLocaleString("en-US", { maximumFractionDigits: 1 })}` : "—");
  return (
    <div className="space-y-1" data-testid={`extraction-progress-${extraction.id}`} data-live={live !== undefined}>
      <ProgressBar
        value={f.total ? f.done / f.total : 0}
        indeterminate={!started}
        label={`${extraction.status} ${extraction.name}`}
        data-testid="extraction-progress-bar"
      />
      <div className="flex flex-wrap gap-x-3 gap-y-0.5 font-mono text-[11px] text-zinc-400 tabular-nums">
        {started ? (
          <>
            <span data-testid="extraction-progress-samples">
              {formatInteger(f.done)} / {formatInteger(f.total)} samples
            </span>
            <span data-testid="extraction-progress-sps">{rate(f.samplesPerSecond)} samples/s</span>
            <span data-testid="extraction-progress-tps">{rate(f.tokensPerSecond)} tokens/s</span>
            <span data-testid="extraction-progress-eta">ETA {formatEta(f.eta)}</span>
            <span data-testid="extraction-progress-batch">batch {f.batchSize}</span>
          </>
        ) : (
          <span className="text-zinc-500" data-testid="extraction-progress-message">
            {job?.message ?? (extraction.status === "queued" ? "waiting for the GPU queue…" : "loading the model…")}
          </span>
        )}
      </div>
    </div>
  );
}

/** Cancel (asks first; completed batches are kept) while it runs; Resume once it stopped resumably. */
export function ExtractionActions({ extraction }: { extraction: Extraction }) {
  const [confirming, setConfirming] = useState(false);
  const pending = useExtractions((s) => s.pending[extraction.id]);
  const cancel = useExtractions((s) => s.cancel);
  const resume = useExtractions((s) => s.resume);
  if (extraction.active) {
    return (
      <>
        <Button size="sm" variant="danger" disabled={pending === "cancel"} onClick={() => setConfirming(true)} data-testid={`extraction-cancel-${extraction.id}`}>
          {pending === "cancel" ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Square className="size-3" aria-hidden />} Cancel
        </Button>
        <ConfirmDialog
          open={confirming}
          title="Cancel this extraction?"
          message="It stops after the batch in flight. The batches done so far are kept, and you can resume it later."
          confirmLabel="Cancel extraction"
          cancelLabel="Keep running"
          danger
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            void cancel(extraction.id);
          }}
        />
      </>
    );
  }
  if (!extraction.resumable) return null;
  return (
    <Button size="sm" variant="primary" disabled={pending === "resume"} onClick={() => void resume(extraction.id)} data-testid={`extraction-resume-${extraction.id}`}>
      {pending === "resume" ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Play className="size-3" aria-hidden />} Resume
    </Button>
  );
}

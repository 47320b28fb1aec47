import { useState } from "react";
import { Loader2, Square } from "lucide-react";
import type { Dataset, Tokenization } from "../../api/datasets";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { formatBytes, formatEta, formatInteger, formatSpeed } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";
import { datasetFraction, tokenizeFraction } from "../../stores/datasetsReducer";
import { useJobs } from "../../stores/jobs";

/**
 * Live progress of a dataset being downloaded (bytes, speed, ETA) or imported (rows, rows/s, file) from the
 * progress channel; before the first event (or after a reload) the job's own progress and message.
 */
export function DatasetProgress({ dataset }: { dataset: Dataset }) {
  const progress = useDatasets((s) => s.progress[dataset.id]);
  const job = useJobs((s) => (dataset.job_id ? s.active[dataset.job_id] : undefined));
  const fraction = datasetFraction(progress, job?.progress);
  const tid = `dataset-progress-${dataset.id}`;
  const waiting = fraction === null || (dataset.status === "queued" && !progress);
  return (
    <div className="space-y-1" data-testid={tid}>
      <ProgressBar value={fraction ?? 0} indeterminate={waiting} label={`${dataset.status} ${dataset.name}`} data-testid={`${tid}-bar`} />
      <div className="flex flex-wrap items-center gap-x-3 gap-y-0.5 font-mono text-[11px] text-zinc-400 tabular-nums">
        {progress?.kind === "download" ? (
          <>
            <span data-testid={`${tid}-bytes`}>
              {formatBytes(progress.bytes_done)} / {formatBytes(progress.bytes_total)}
            </span>
            <span>{formatSpeed(progress.bytes_per_second)}</span>
            <span>ETA {formatEta(progress.eta_seconds)}</span>
            {progress.files_total > 0 && (
              <span>
                files {progress.files_done}/{progress.files_total}
              </span>
            )}
            {progress.current_file && <span className="truncate text-zinc-500">{progress.current_file}</span>}
          </>
        ) : progress?.kind === "import" ? (
          <>
            <span data-testid={`${tid}-rows`}>{formatInteger(progress.rows)} rows</span>
            <span>{formatInteger(progress.rows_per_second)} rows/s</span>
            {progress.bytes_total > 0 && (
              <span>
                {formatBytes(progress.bytes_read)} / {formatBytes(progress.bytes_total)}
              </span>
            )}
            {progress.current_file && <span className="truncate text-zinc-500">{progress.current_file}</span>}
          </>
        ) : (
          <span className="text-zinc-500" data-testid={`${tid}-message`}>
            {job?.message ?? (dataset.status === "queued" ? "waiting for a worker…" : `${dataset.status}…`)}
          </span>
        )}
      </div>
    </div>
  );
}

/** Live progress of one tokenization: rows done of total, rows/s, sequences and tokens so far, ETA. */
export function TokenizationProgress({ tokenization }: { tokenization: Tokenization }) {
  const progress = useDatasets((s) => s.tokenizeProgress[tokenization.id]);
  const job = useJobs((s) => (tokenization.job_id ? s.active[tokenization.job_id] : undefined));
  const fraction = tokenizeFraction(progress, job?.progress);
  const tid = `tokenization-progress-${tokenization.id}`;
  const waiting = fraction === null || (tokenization.status === "queued" && !progress);
  return (
    <div className="min-w-48 space-y-0.5" data-testid={tid}>
      <ProgressBar value={fraction ?? 0} indeterminate={waiting} label={`tokenizing with ${tokenization.tokenizer_name}`} />
      <div className="flex flex-wrap gap-x-2 font-mono text-[10px] text-zinc-400 tabular-nums">
        {progress ? (
          <>
            <span data-testid={`${tid}-rows`}>
              {formatInteger(progress.rows_done)} / {formatInteger(progress.rows_total)} rows
            </span>
            <span>{formatInteger(progress.rows_per_second)} rows/s</span>
            <span>{formatInteger(progress.tokens)} tokens</span>
            <span>ETA {formatEta(progress.eta_seconds)}</span>
          </>
        ) : (
          <span className="text-zinc-500">{job?.message ?? (tokenization.status === "queued" ? "waiting for a worker…" : "running…")}</span>
        )}
      </div>
    </div>
  );
}

/** Cancel a download/import, after a confirmation; partial files are removed by the server. */
export function CancelDatasetButton({ dataset }: { dataset: Dataset }) {
  const [confirming, setConfirming] = useState(false);
  const pending = useDatasets((s) => s.pending[dataset.id] === "cancel");
  const cancel = useDatasets((s) => s.cancel);
  const verb = dataset.source === "hub" ? "download" : "import";
  return (
    <>
      <Button
        size="sm"
        variant="danger"
        disabled={pending}
        data-testid={`dataset-cancel-${dataset.id}`}
        aria-label={`Cancel the ${verb} of ${dataset.name}`}
        onClick={() => setConfirming(true)}
      >
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Square className="size-3" aria-hidden />}
        {pending ? "cancelling…" : "Cancel"}
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Cancel this ${verb}?`}
        message={
          <>
            The {verb} of <span className="font-mono text-zinc-100">{dataset.name}</span> stops and its partial files are removed.
            You can retry it later.
          </>
        }
        confirmLabel={`Cancel ${verb}`}
        cancelLabel="Keep going"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void cancel(dataset.id);
        }}
      />
    </>
  );
}

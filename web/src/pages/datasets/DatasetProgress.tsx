import type { Dataset, Tokenization } from "../../api/datasets";
import { CancelWorkButton } from "../../components/ItemActions";
import { DownloadFigures, ItemProgress } from "../../components/ItemProgress";
import { ProgressBar } from "../../components/ProgressBar";
import { formatBytes, formatEta, formatInteger } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";
import { datasetFraction, tokenizeFraction } from "../../stores/datasetsReducer";
import { useJobs } from "../../stores/jobs";

/**
 * Live progress of a dataset being downloaded (bytes, speed, ETA) or imported (rows, rows/s, file) from the
 * progress channel; before the first event (or after a reload) the job's own progress and message.
 */
export function DatasetProgress({ dataset }: { dataset: Dataset }) {
  const progress = useDatasets((s) => s.progress[dataset.id]);
  const tid = `dataset-progress-${dataset.id}`;
  return (
    <ItemProgress item={dataset} live={progress !== undefined} fraction={(job) => datasetFraction(progress, job)} testId={tid}>
      {progress?.kind === "download" && <DownloadFigures progress={progress} testId={tid} />}
      {progress?.kind === "import" && (
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
      )}
    </ItemProgress>
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
  const pending = useDatasets((s) => s.pending[dataset.id] === "cancel");
  const cancel = useDatasets((s) => s.cancel);
  return (
    <CancelWorkButton
      name={dataset.name}
      verb={dataset.source === "hub" ? "download" : "import"}
      pending={pending}
      testId={`dataset-cancel-${dataset.id}`}
      onCancel={() => void cancel(dataset.id)}
    />
  );
}

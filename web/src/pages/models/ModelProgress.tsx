import { useState } from "react";
import { Loader2, Square } from "lucide-react";
import type { Model } from "../../api/types";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { formatBytes, formatEta, formatSpeed } from "../../lib/format";
import { useJobs } from "../../stores/jobs";
import { useModels } from "../../stores/models";
import { downloadFraction } from "../../stores/modelsReducer";

/**
 * Live progress of a model being downloaded or imported: bytes, speed, ETA and the file in flight from
 * the progress channel; after a reload (before the next event) the job's own progress and message.
 */
export function ModelProgress({ model }: { model: Model }) {
  const progress = useModels((s) => s.progress[model.id]);
  const job = useJobs((s) => (model.job_id ? s.active[model.job_id] : undefined));
  const fraction = downloadFraction(progress, job?.progress);
  const tid = `model-progress-${model.id}`;
  const waiting = fraction === null || (model.status === "queued" && !progress);
  return (
    <div className="space-y-1" data-testid={tid}>
      <ProgressBar value={fraction ?? 0} indeterminate={waiting} label={`${model.status} ${model.name}`} data-testid={`${tid}-bar`} />
      <div className="flex flex-wrap items-center gap-x-3 gap-y-0.5 font-mono text-[11px] text-zinc-400 tabular-nums">
        {progress ? (
          <>
            <span data-testid={`${tid}-bytes`}>
              {formatBytes(progress.bytes_done)} / {formatBytes(progress.bytes_total)}
            </span>
            <span data-testid={`${tid}-speed`}>{formatSpeed(progress.bytes_per_second)}</span>
            <span data-testid={`${tid}-eta`}>ETA {formatEta(progress.eta_seconds)}</span>
            {progress.files_total > 0 && (
              <span>
                files {progress.files_done}/{progress.files_total}
              </span>
            )}
            {progress.current_file && <span className="truncate text-zinc-500">{progress.current_file}</span>}
          </>
        ) : (
          <span className="text-zinc-500" data-testid={`${tid}-message`}>
            {job?.message ?? (model.status === "queued" ? "waiting for a worker…" : `${model.status}…`)}
          </span>
        )}
      </div>
    </div>
  );
}

/** Cancel a download/import, after a confirmation; partial files are removed by the server. */
export function CancelDownloadButton({ model }: { model: Model }) {
  const [confirming, setConfirming] = useState(false);
  const pending = useModels((s) => s.pending[model.id] === "cancel");
  const cancel = useModels((s) => s.cancelDownload);
  const verb = model.status === "importing" ? "import" : "download";
  return (
    <>
      <Button
        size="sm"
        variant="danger"
        disabled={pending}
        data-testid={`model-cancel-${model.id}`}
        aria-label={`Cancel the ${verb} of ${model.name}`}
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
            The {verb} of <span className="font-mono text-zinc-100">{model.name}</span> stops and its partial files are removed.
            You can retry it later.
          </>
        }
        confirmLabel={`Cancel ${verb}`}
        cancelLabel="Keep going"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void cancel(model.id);
        }}
      />
    </>
  );
}

import { lazy, Suspense, useState } from "react";
import { Loader2, Trash2, X } from "lucide-react";
import { messageOf } from "../../api/client";
import type { Extraction } from "../../api/extraction";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { DetailList, DetailRow, JobDetailRow } from "../../components/Details";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { StatusBadge } from "../../components/StatusBadge";
import { formatBytes, formatDuration, formatInteger, formatTimestamp } from "../../lib/format";
import { useExtractions } from "../../stores/extraction";
import { ExtractionActions, ExtractionProgress } from "./ExtractionProgress";
import { formatLayerSpec } from "./layers";

// The charts (recharts) load with an extraction's statistics only.
const ExtractionStatistics = lazy(() => import("./ExtractionStatistics").then((m) => ({ default: m.ExtractionStatistics })));

function Metadata({ e }: { e: Extraction }) {
  const rate = (v: number | null, unit: string) => (v ? `${v.toLocaleString("en-US", { maximumFractionDigits: 1 })} ${unit}` : "—");
  return (
    <DetailList testId="extraction-detail-info">
      <DetailRow label="Dataset">{e.dataset_name}</DetailRow>
      <DetailRow label="Tokenization">{e.tokenization_id}</DetailRow>
      <DetailRow label="Layers">{formatLayerSpec(e.layers)}</DetailRow>
      <DetailRow label="Hook points">{e.hook_points.join(", ")}</DetailRow>
      <DetailRow label="Samples">
        {formatInteger(e.samples_done)} of {formatInteger(e.num_samples)}
        {e.seq_len !== null && ` × ${e.seq_len} tokens`}
        {e.d_model !== null && ` × d ${e.d_model}`}
      </DetailRow>
      <DetailRow label="Model format">
        {e.format} on {e.device}
      </DetailRow>
      <DetailRow label="Stored as">{e.dtype}</DetailRow>
      <DetailRow label="Batch size">
        {e.batch_size}
        {e.final_batch_size !== null && e.final_batch_size !== e.batch_size && ` → ${e.final_batch_size} after out-of-memory`}
      </DetailRow>
      {e.oom_retries.length > 0 && <DetailRow label="OOM retries">{e.oom_retries.map((r) => JSON.stringify(r)).join(" ")}</DetailRow>}
      <DetailRow label="Speed">
        {rate(e.samples_per_second, "samples/s")} · {rate(e.tokens_per_second, "tokens/s")}
      </DetailRow>
      <DetailRow label="Time">{e.seconds === null ? "—" : formatDuration(e.seconds * 1000)}</DetailRow>
      <DetailRow label="Size">
        {formatBytes(e.size_bytes)}
        {e.estimate_bytes !== null && <span className="text-zinc-500"> (estimated {formatBytes(e.estimate_bytes)})</span>}
      </DetailRow>
      <DetailRow label="Path">
        <span data-testid="extraction-detail-path">{e.path}</span>
      </DetailRow>
      <DetailRow label="Created">{formatTimestamp(e.created_at)}</DetailRow>
      {e.completed_at && <DetailRow label="Completed">{formatTimestamp(e.completed_at)}</DetailRow>}
      <JobDetailRow jobId={e.job_id} />
    </DetailList>
  );
}

/** Delete with confirmation; a refusal (409: it runs, or a training uses it) is shown here with the server's reason. */
function DeleteExtraction({ extraction, onDeleted }: { extraction: Extraction; onDeleted: (bytesFreed: number) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const busy = useExtractions((s) => s.pending[extraction.id] === "delete");
  const remove = useExtractions((s) => s.remove);
  const go = async () => {
    setConfirming(false);
    setError(null);
    try {
      onDeleted((await remove(extraction.id)).bytes_freed);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <div className="space-y-1">
      <Button size="sm" variant="danger" disabled={busy} onClick={() => setConfirming(true)} data-testid="extraction-delete">
        {busy ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />} Delete
      </Button>
      {error && <FormError testId="extraction-delete-error">{error}</FormError>}
      <ConfirmDialog
        open={confirming}
        title="Delete this extraction?"
        message={
          <>
            Its activations are removed from disk, freeing about <strong className="font-mono text-zinc-100">{formatBytes(extraction.size_bytes)}</strong>. This
            cannot be undone.
          </>
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => void go()}
      />
    </div>
  );
}

/** One extraction: status, live progress, metadata and path, statistics charts once completed, and delete. */
export function ExtractionDetail({ extraction, onClose, onDeleted }: { extraction: Extraction; onClose: () => void; onDeleted: (bytesFreed: number) => void }) {
  const e = extraction;
  const active = e.active;
  return (
    <Card
      title={
        <span className="flex items-center gap-2 normal-case">
          <span className="font-mono tracking-normal" data-testid="extraction-detail-name">{e.name}</span>
          <StatusBadge status={e.status} data-testid="extraction-detail-status" />
        </span>
      }
      actions={
        <>
          <ExtractionActions extraction={e} />
          {!active && <DeleteExtraction extraction={e} onDeleted={onDeleted} />}
          <Button size="sm" variant="ghost" aria-label="Close the extraction's detail" onClick={onClose} data-testid="extraction-detail-close">
            <X className="size-3.5" aria-hidden />
          </Button>
        </>
      }
      data-testid="extraction-detail"
      data-extraction-id={e.id}
      data-status={e.status}
    >
      <div className="space-y-4">
        {active && <ExtractionProgress extraction={e} />}
        {e.message && !active && !e.ready && (
          <p className="rounded border border-amber-900 bg-amber-950/40 px-2 py-1 text-xs break-words text-amber-100" data-testid="extraction-detail-message">
            {e.message}
            {e.resumable && " — the batches done are kept: Resume continues from there."}
          </p>
        )}
        <Metadata e={e} />
        {e.ready ? (
          <Suspense fallback={<p className="text-xs text-zinc-500">Loading the charts…</p>}>
            <ExtractionStatistics extraction={e} />
          </Suspense>
        ) : (
          <p className="text-xs text-zinc-500">Statistics appear once the extraction completes.</p>
        )}
      </div>
    </Card>
  );
}

import { useEffect, useState } from "react";
import { Loader2, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { trainingApi, type Checkpoint, type Training } from "../../api/training";
import { Button } from "../../components/Button";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { Table, type Column } from "../../components/Table";
import { formatBytes, formatInteger } from "../../lib/format";
import { useConnection } from "../../stores/live";
import { reportFreed } from "../../stores/liveResource";
import { formatMetric } from "./metrics";

/** The run's checkpoints (reloaded as it advances), each deletable once nothing runs it (asks first). */
export function CheckpointsTab({ training }: { training: Training }) {
  const epoch = useConnection((s) => s.epoch);
  const [checkpoints, setCheckpoints] = useState<Checkpoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Checkpoint | null>(null);
  const [deleting, setDeleting] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    trainingApi
      .checkpoints(training.id, ctrl.signal)
      .then((c) => {
        if (ctrl.signal.aborted) return;
        setCheckpoints(c);
        setError(null);
      })
      .catch((e) => !ctrl.signal.aborted && setError(messageOf(e)));
    return () => ctrl.abort();
  }, [training.id, training.status, training.steps_done, epoch, tick]);

  const remove = async (c: Checkpoint) => {
    setConfirm(null);
    setDeleting(c.step);
    setError(null);
    try {
      const result = await trainingApi.deleteCheckpoint(training.id, c.step);
      reportFreed(`Deleted the checkpoint at step ${formatInteger(c.step)}`, result.bytes_freed);
      setTick((t) => t + 1);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setDeleting(null);
    }
  };

  const columns: Column<Checkpoint>[] = [
    { key: "step", header: "Step", className: "text-right", render: (c) => <span className="font-mono text-zinc-100">{formatInteger(c.step)}</span> },
    {
      key: "score",
      header: <span title="summed hold-out MSE of the run's SAEs when written (lower is better)">Hold-out MSE</span>,
      className: "text-right",
      render: (c) => <span className="font-mono text-zinc-300">{formatMetric(c.score)}</span>,
    },
    { key: "size", header: "Size", className: "text-right", render: (c) => <span className="font-mono text-zinc-300">{formatBytes(c.size_bytes)}</span> },
    { key: "path", header: "Path", render: (c) => <span className="block max-w-xl truncate font-mono text-zinc-500" title={c.path}>{c.path}</span> },
    {
      key: "actions",
      header: <span className="sr-only">Actions</span>,
      render: (c) => (
        <Button
          size="sm"
          variant="danger"
          disabled={training.active || deleting === c.step}
          title={training.active ? "Pause the run before deleting its checkpoints" : undefined}
          onClick={() => setConfirm(c)}
          aria-label={`Delete the checkpoint at step ${c.step}`}
          data-testid={`checkpoint-delete-${c.step}`}
        >
          {deleting === c.step ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />} Delete
        </Button>
      ),
    },
  ];

  return (
    <div className="space-y-2" data-testid="training-checkpoints">
      <p className="text-xs text-zinc-500">
        A paused, interrupted or failed run resumes from its newest checkpoint
        {training.settings.keep_checkpoints ? `; the newest ${String(training.settings.keep_checkpoints)} and the best by hold-out MSE are kept` : ""}.
      </p>
      {error && <FormError testId="checkpoints-error">{error}</FormError>}
      <Table
        columns={columns}
        rows={checkpoints ?? []}
        rowKey={(c) => String(c.step)}
        caption="Checkpoints of this run"
        rowTestId={(c) => `checkpoint-row-${c.step}`}
        empty={checkpoints === null ? "Loading…" : "No checkpoint yet."}
        data-testid="checkpoints-table"
      />
      <ConfirmDialog
        open={confirm !== null}
        title="Delete this checkpoint?"
        message={
          <>
            The checkpoint at step <strong className="font-mono text-zinc-100">{formatInteger(confirm?.step)}</strong> ({formatBytes(confirm?.size_bytes)}) is removed.
            {training.resumable && " A resume then starts from the newest checkpoint left (or from the beginning)."}
          </>
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setConfirm(null)}
        onConfirm={() => confirm && void remove(confirm)}
      />
    </div>
  );
}

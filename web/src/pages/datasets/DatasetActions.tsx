import { useState, type FormEvent } from "react";
import { Loader2, RotateCw, Trash2 } from "lucide-react";
import type { Dataset } from "../../api/datasets";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { formatBytes } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";
import { hasActiveWork } from "../../stores/datasetsReducer";

/** Retry a failed, interrupted or cancelled download/import; a hub download may take a token (used once). */
export function RetryDatasetButton({ dataset }: { dataset: Dataset }) {
  const [asking, setAsking] = useState(false);
  const [token, setToken] = useState("");
  const pending = useDatasets((s) => s.pending[dataset.id] === "retry");
  const retry = useDatasets((s) => s.retry);
  const fromHub = dataset.source === "hub";

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const t = token;
    setToken(""); // never kept past the request
    setAsking(false);
    void retry(dataset.id, t || undefined);
  };

  return (
    <>
      <Button
        size="sm"
        disabled={pending}
        data-testid={`dataset-retry-${dataset.id}`}
        aria-label={`Retry ${dataset.name}`}
        onClick={() => (fromHub ? setAsking(true) : void retry(dataset.id))}
      >
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <RotateCw className="size-3" aria-hidden />}
        Retry
      </Button>
      <Modal
        open={asking}
        title={`Retry ${dataset.name}`}
        onClose={() => {
          setToken("");
          setAsking(false);
        }}
        data-testid="dataset-retry-dialog"
        footer={
          <>
            <Button onClick={() => setAsking(false)}>Back</Button>
            <Button variant="primary" onClick={() => submit()} data-testid="dataset-retry-confirm">
              Retry
            </Button>
          </>
        }
      >
        <form onSubmit={submit} className="space-y-2">
          <p className="text-xs text-zinc-400">
            Files already downloaded and verified are not fetched again. A gated or private repo needs a Hugging Face token
            with access (empty: your standard login, if any); it is used for this request only and never stored.
          </p>
          <label className="block text-xs text-zinc-300">
            Hugging Face token (optional)
            <input
              type="password"
              autoComplete="off"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              className={`${inputClass} mt-1 font-mono`}
              data-autofocus
            />
          </label>
        </form>
      </Modal>
    </>
  );
}

/** Delete after a confirmation that says what goes and what is freed; `onDeleted` runs on success. */
export function DeleteDatasetButton({ dataset, onDeleted, label = true }: { dataset: Dataset; onDeleted?: () => void; label?: boolean }) {
  const [confirming, setConfirming] = useState(false);
  const pending = useDatasets((s) => s.pending[dataset.id] === "delete");
  const remove = useDatasets((s) => s.remove);
  const tokenizations = dataset.tokenizations.length;
  const busy = hasActiveWork(dataset);
  return (
    <>
      <Button
        size="sm"
        variant="danger"
        disabled={pending}
        data-testid={`dataset-delete-${dataset.id}`}
        aria-label={`Delete ${dataset.name}`}
        onClick={() => setConfirming(true)}
      >
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />}
        {label && "Delete"}
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${dataset.name}?`}
        message={
          <div className="space-y-2" data-testid="delete-dataset-summary">
            <p>
              This removes the dataset
              {tokenizations
                ? `, its stored text and its ${tokenizations} tokenization${tokenizations === 1 ? "" : "s"}`
                : " and its stored text"}{" "}
              from this studio. It cannot be undone.
            </p>
            <p>
              Frees about{" "}
              <strong className="font-mono text-zinc-100" data-testid="delete-dataset-bytes">
                {formatBytes(dataset.total_bytes)}
              </strong>{" "}
              on disk.
            </p>
            {dataset.source === "import" && dataset.source_path && (
              <p className="text-xs text-zinc-400">
                The original files at <span className="font-mono break-all">{dataset.source_path}</span> are left untouched.
              </p>
            )}
            {busy && (
              <p className="text-xs text-amber-300" data-testid="delete-dataset-busy">
                A job still works on this dataset: the server refuses the delete until it is cancelled or finished.
              </p>
            )}
          </div>
        }
        confirmLabel="Delete dataset"
        cancelLabel="Keep"
        danger
        busy={pending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void remove(dataset.id).then((result) => {
            if (result) onDeleted?.();
          });
        }}
      />
    </>
  );
}

import type { Dataset } from "../../api/datasets";
import { DeleteButton, FreesAbout, RetryWithTokenButton } from "../../components/ItemActions";
import { formatBytes } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";
import { hasActiveWork } from "../../stores/datasetsReducer";

/** Retry a failed, interrupted or cancelled download/import; a hub download may take a token (used once). */
export function RetryDatasetButton({ dataset }: { dataset: Dataset }) {
  const pending = useDatasets((s) => s.pending[dataset.id] === "retry");
  const retry = useDatasets((s) => s.retry);
  return (
    <RetryWithTokenButton
      name={dataset.name}
      pending={pending}
      askToken={dataset.source === "hub"}
      onRetry={(token) => void retry(dataset.id, token)}
      explanation={
        <>
          Files already downloaded and verified are not fetched again. A gated or private repo needs a Hugging Face token with
          access (empty: your standard login, if any); it is used for this request only and never stored.
        </>
      }
      tokenLabel="Hugging Face token (optional)"
      testIds={{ button: `dataset-retry-${dataset.id}`, dialog: "dataset-retry-dialog", confirm: "dataset-retry-confirm" }}
    />
  );
}

/** Delete after a confirmation that says what goes and what is freed; `onDeleted` runs on success. */
export function DeleteDatasetButton({ dataset, onDeleted, label = true }: { dataset: Dataset; onDeleted?: () => void; label?: boolean }) {
  const pending = useDatasets((s) => s.pending[dataset.id] === "delete");
  const remove = useDatasets((s) => s.remove);
  const tokenizations = dataset.tokenizations.length;
  const busy = hasActiveWork(dataset);
  return (
    <DeleteButton
      name={dataset.name}
      pending={pending}
      label={label}
      testId={`dataset-delete-${dataset.id}`}
      confirmLabel="Delete dataset"
      onDelete={() => remove(dataset.id)}
      onDeleted={onDeleted}
      summary={
        <div className="space-y-2" data-testid="delete-dataset-summary">
          <p>
            This removes the dataset
            {tokenizations
              ? `, its stored text and its ${tokenizations} tokenization${tokenizations === 1 ? "" : "s"}`
              : " and its stored text"}{" "}
            from this studio. It cannot be undone.
          </p>
          <FreesAbout bytes={formatBytes(dataset.total_bytes)} testId="delete-dataset-bytes" />
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
    />
  );
}

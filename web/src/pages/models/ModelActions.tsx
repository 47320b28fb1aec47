import type { Model } from "../../api/types";
import { DeleteButton, FreesAbout, RetryWithTokenButton } from "../../components/ItemActions";
import { formatBytes } from "../../lib/format";
import { useModels } from "../../stores/models";

/** Retry an errored/interrupted/cancelled download; a gated repo asks for a token first (used once). */
export function RetryButton({ model }: { model: Model }) {
  const pending = useModels((s) => s.pending[model.id] === "retry");
  const retry = useModels((s) => s.retry);
  return (
    <RetryWithTokenButton
      name={model.name}
      pending={pending}
      askToken={model.gated && model.source === "hub"}
      onRetry={(token) => void retry(model.id, token)}
      explanation={
        <>
          This repo is gated. Give a Hugging Face token with access (or leave empty to use your standard login). It is used for
          this request only and never stored.
        </>
      }
      tokenLabel="Hugging Face token"
      testIds={{ button: `model-retry-${model.id}`, dialog: "retry-dialog", confirm: "retry-dialog-confirm" }}
    />
  );
}

/** Delete after a confirmation that says what will be freed; `onDeleted` runs on success. */
export function DeleteModelButton({ model, onDeleted, label = true }: { model: Model; onDeleted?: () => void; label?: boolean }) {
  const pending = useModels((s) => s.pending[model.id] === "delete");
  const remove = useModels((s) => s.remove);
  const variants = model.variants.length;
  return (
    <DeleteButton
      name={model.name}
      pending={pending}
      label={label}
      testId={`model-delete-${model.id}`}
      confirmLabel="Delete model"
      onDelete={() => remove(model.id)}
      onDeleted={onDeleted}
      summary={
        <div className="space-y-2" data-testid="delete-model-summary">
          <p>
            This removes the model and {variants === 0 ? "its files" : `its ${variants} variant${variants === 1 ? "" : "s"}`} from
            this studio. It cannot be undone.
          </p>
          {model.storage_mode === "link" ? (
            <p data-testid="delete-model-bytes">Frees almost nothing on disk: the studio only holds links to the files.</p>
          ) : (
            <FreesAbout bytes={formatBytes(model.size_bytes)} testId="delete-model-bytes" />
          )}
          {model.storage_mode === "link" && model.source_path && (
            <p className="text-xs text-zinc-400">
              The original folder <span className="font-mono break-all">{model.source_path}</span> is left untouched.
            </p>
          )}
        </div>
      }
    />
  );
}

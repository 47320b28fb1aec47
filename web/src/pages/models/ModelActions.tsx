import { useState, type FormEvent } from "react";
import { Loader2, RotateCw, Trash2 } from "lucide-react";
import type { Model } from "../../api/types";
import { Button } from "../../components/Button";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { formatBytes } from "../../lib/format";
import { useModels } from "../../stores/models";

/** Retry an errored/interrupted/cancelled download; a gated repo asks for a token first (used once). */
export function RetryButton({ model }: { model: Model }) {
  const [asking, setAsking] = useState(false);
  const [token, setToken] = useState("");
  const pending = useModels((s) => s.pending[model.id] === "retry");
  const retry = useModels((s) => s.retry);
  const needsTokenPrompt = model.gated && model.source === "hub";

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const t = token;
    setToken(""); // never kept past the request
    setAsking(false);
    void retry(model.id, t || undefined);
  };

  return (
    <>
      <Button
        size="sm"
        disabled={pending}
        data-testid={`model-retry-${model.id}`}
        aria-label={`Retry ${model.name}`}
        onClick={() => (needsTokenPrompt ? setAsking(true) : void retry(model.id))}
      >
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <RotateCw className="size-3" aria-hidden />}
        Retry
      </Button>
      <Modal
        open={asking}
        title={`Retry ${model.name}`}
        onClose={() => {
          setToken("");
          setAsking(false);
        }}
        data-testid="retry-dialog"
        footer={
          <>
            <Button onClick={() => setAsking(false)}>Back</Button>
            <Button variant="primary" onClick={() => submit()} data-testid="retry-dialog-confirm">
              Retry
            </Button>
          </>
        }
      >
        <form onSubmit={submit} className="space-y-2">
          <p className="text-xs text-zinc-400">
            This repo is gated. Give a Hugging Face token with access (or leave empty to use your standard login). It is
            used for this request only and never stored.
          </p>
          <label className="block text-xs text-zinc-300">
            Hugging Face token
            <input
              type="password"
              autoComplete="off"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              className="mt-1 block w-full rounded border border-zinc-700 bg-zinc-950 px-2 py-1 font-mono text-sm text-zinc-100"
              data-autofocus
            />
          </label>
        </form>
      </Modal>
    </>
  );
}

/** Delete after a confirmation that says what will be freed; `onDeleted` runs on success. */
export function DeleteModelButton({ model, onDeleted, label = true }: { model: Model; onDeleted?: () => void; label?: boolean }) {
  const [confirming, setConfirming] = useState(false);
  const pending = useModels((s) => s.pending[model.id] === "delete");
  const remove = useModels((s) => s.remove);
  const variants = model.variants.length;
  return (
    <>
      <Button
        size="sm"
        variant="danger"
        disabled={pending}
        data-testid={`model-delete-${model.id}`}
        aria-label={`Delete ${model.name}`}
        onClick={() => setConfirming(true)}
      >
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />}
        {label && "Delete"}
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${model.name}?`}
        message={
          <div className="space-y-2" data-testid="delete-model-summary">
            <p>
              This removes the model and {variants === 0 ? "its files" : `its ${variants} variant${variants === 1 ? "" : "s"}`} from
              this studio. It cannot be undone.
            </p>
            {model.storage_mode === "link" ? (
              <p data-testid="delete-model-bytes">Frees almost nothing on disk: the studio only holds links to the files.</p>
            ) : (
              <p>
                Frees about{" "}
                <strong className="font-mono text-zinc-100" data-testid="delete-model-bytes">
                  {formatBytes(model.size_bytes)}
                </strong>{" "}
                on disk.
              </p>
            )}
            {model.storage_mode === "link" && model.source_path && (
              <p className="text-xs text-zinc-400">
                The original folder <span className="font-mono break-all">{model.source_path}</span> is left untouched.
              </p>
            )}
          </div>
        }
        confirmLabel="Delete model"
        cancelLabel="Keep"
        danger
        busy={pending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void remove(model.id).then((result) => {
            if (result) onDeleted?.();
          });
        }}
      />
    </>
  );
}

/**
 * The actions of an item produced by a job (a model, a dataset): cancel its download/import, retry it
 * (asking for a Hugging Face token when it may need one), and delete it — each confirmed first.
 */
import { useState, type FormEvent, type ReactNode } from "react";
import { Loader2, RotateCw, Square, Trash2 } from "lucide-react";
import { Button } from "./Button";
import { inputClass } from "./Field";
import { ConfirmDialog, Modal } from "./Modal";

/** Cancel a download/import, after a confirmation; partial files are removed by the server. */
export function CancelWorkButton({
  name,
  verb,
  pending,
  testId,
  onCancel,
}: {
  name: string;
  /** "download" or "import". */
  verb: string;
  pending: boolean;
  testId: string;
  onCancel: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  return (
    <>
      <Button size="sm" variant="danger" disabled={pending} data-testid={testId} aria-label={`Cancel the ${verb} of ${name}`} onClick={() => setConfirming(true)}>
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Square className="size-3" aria-hidden />}
        {pending ? "cancelling…" : "Cancel"}
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Cancel this ${verb}?`}
        message={
          <>
            The {verb} of <span className="font-mono text-zinc-100">{name}</span> stops and its partial files are removed.
            You can retry it later.
          </>
        }
        confirmLabel={`Cancel ${verb}`}
        cancelLabel="Keep going"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          onCancel();
        }}
      />
    </>
  );
}

/** Retry; with `askToken` a dialog first takes a Hugging Face token, used for that request only and then forgotten. */
export function RetryWithTokenButton({
  name,
  pending,
  askToken,
  onRetry,
  explanation,
  tokenLabel,
  testIds,
}: {
  name: string;
  pending: boolean;
  askToken: boolean;
  onRetry: (token?: string) => void;
  /** What the dialog says above the token field. */
  explanation: ReactNode;
  tokenLabel: string;
  testIds: { button: string; dialog: string; confirm: string };
}) {
  const [asking, setAsking] = useState(false);
  const [token, setToken] = useState("");

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const t = token;
    setToken(""); // never kept past the request
    setAsking(false);
    onRetry(t || undefined);
  };

  return (
    <>
      <Button size="sm" disabled={pending} data-testid={testIds.button} aria-label={`Retry ${name}`} onClick={() => (askToken ? setAsking(true) : onRetry())}>
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <RotateCw className="size-3" aria-hidden />}
        Retry
      </Button>
      <Modal
        open={asking}
        title={`Retry ${name}`}
        onClose={() => {
          setToken("");
          setAsking(false);
        }}
        data-testid={testIds.dialog}
        footer={
          <>
            <Button onClick={() => setAsking(false)}>Back</Button>
            <Button variant="primary" onClick={() => submit()} data-testid={testIds.confirm}>
              Retry
            </Button>
          </>
        }
      >
        <form onSubmit={submit} className="space-y-2">
          <p className="text-xs text-zinc-400">{explanation}</p>
          <label className="block text-xs text-zinc-300">
            {tokenLabel}
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

/** Delete after a confirmation that says what goes (`summary`); `onDeleted` runs once `onDelete` resolves with a result. */
export function DeleteButton({
  name,
  pending,
  label = true,
  summary,
  confirmLabel,
  testId,
  onDelete,
  onDeleted,
}: {
  name: string;
  pending: boolean;
  /** Show "Delete" beside the icon. */
  label?: boolean;
  summary: ReactNode;
  confirmLabel: string;
  testId: string;
  /** Resolves null when the delete did not happen. */
  onDelete: () => Promise<unknown>;
  onDeleted?: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  return (
    <>
      <Button size="sm" variant="danger" disabled={pending} data-testid={testId} aria-label={`Delete ${name}`} onClick={() => setConfirming(true)}>
        {pending ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />}
        {label && "Delete"}
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${name}?`}
        message={summary}
        confirmLabel={confirmLabel}
        cancelLabel="Keep"
        danger
        busy={pending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void onDelete().then((result) => {
            if (result) onDeleted?.();
          });
        }}
      />
    </>
  );
}

/** "Frees about N on disk." for a delete summary (the figure carries `testId`). */
export function FreesAbout({ bytes, testId }: { bytes: string; testId: string }) {
  return (
    <p>
      Frees about{" "}
      <strong className="font-mono text-zinc-100" data-testid={testId}>
        {bytes}
      </strong>{" "}
      on disk.
    </p>
  );
}

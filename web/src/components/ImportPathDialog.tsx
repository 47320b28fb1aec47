import { useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { Loader2 } from "lucide-react";
import { messageOf } from "../api/client";
import { useToasts } from "../stores/toasts";
import { Button } from "./Button";
import { Field, inputClass } from "./Field";
import { FormError } from "./FormError";
import { Modal } from "./Modal";

/**
 * "Import from the server's disk": a path (Enter submits) and the options in `children`. Import says that
 * the job started (or, for an import done at once, that it is done) and closes (after `onImported` clears the
 * fields); a refusal shows inline.
 */
export function ImportPathDialog({
  open,
  onClose,
  title,
  path,
  onPathChange,
  pathHint,
  pathPlaceholder,
  emptyPathMessage,
  onImport,
  onImported,
  testIds,
  children,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  path: string;
  onPathChange: (path: string) => void;
  pathHint: string;
  pathPlaceholder: string;
  /** Shown when Import is pressed without a path. */
  emptyPathMessage: string;
  /** Start the import of the (trimmed) path; throws the API error. No `job_id`: the import is already done. */
  onImport: (path: string) => Promise<{ name: string; job_id?: string | null }>;
  onImported: () => void;
  testIds: { dialog: string; path: string; submit: string; error: string };
  children: ReactNode;
}) {
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const close = () => {
    setError(null);
    onClose();
  };

  const submit = async (e?: FormEvent | KeyboardEvent<HTMLInputElement>) => {
    e?.preventDefault();
    const trimmed = path.trim();
    if (!trimmed) {
      setError(emptyPathMessage);
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      const item = await onImport(trimmed);
      useToasts.getState().push(
        item.job_id ? { kind: "info", title: `Importing ${item.name}`, message: `Job ${item.job_id}` } : { kind: "success", title: `Imported ${item.name}` },
      );
      onImported();
      close();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Modal
      open={open}
      title={title}
      onClose={close}
      size="lg"
      data-testid={testIds.dialog}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button variant="primary" onClick={() => void submit()} disabled={submitting} data-testid={testIds.submit}>
            {submitting && <Loader2 className="size-3.5 animate-spin" aria-hidden />}
            Import
          </Button>
        </>
      }
    >
      <form className="space-y-3" onSubmit={submit} noValidate>
        <Field label="Path on the server" hint={pathHint}>
          {({ id, describedBy }) => (
            <input
              id={id}
              className={`${inputClass} font-mono`}
              value={path}
              onChange={(e) => onPathChange(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") void submit(e);
              }}
              placeholder={pathPlaceholder}
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
              data-testid={testIds.path}
              data-autofocus
            />
          )}
        </Field>
        {children}
        {error && <FormError testId={testIds.error}>{error}</FormError>}
      </form>
    </Modal>
  );
}

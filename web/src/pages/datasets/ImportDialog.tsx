import { useState, type FormEvent, type KeyboardEvent } from "react";
import { Loader2 } from "lucide-react";
import { Button } from "../../components/Button";
import { Field, inputClass } from "../../components/Field";
import { Modal } from "../../components/Modal";
import { useDatasets } from "../../stores/datasets";
import { useToasts } from "../../stores/toasts";
import { messageOf } from "./HubDownloadForm";
import { emptySourceOptions, SourceOptions, type SourceOptionsValue } from "./SourceOptions";

/** Import a file or a folder of text files from the server's disk (read in place; the normalized text is stored). */
export function DatasetImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [path, setPath] = useState("");
  const [options, setOptions] = useState<SourceOptionsValue>(emptySourceOptions);
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const importPath = useDatasets((s) => s.importPath);
  const trimmed = path.trim();
  const showTxtMode = options.format === "txt" || trimmed.toLowerCase().endsWith(".txt") || !/\.[a-z]+$/i.test(trimmed);

  const close = () => {
    setError(null);
    onClose();
  };

  const submit = async (e?: FormEvent | KeyboardEvent<HTMLInputElement>) => {
    e?.preventDefault();
    if (!trimmed) {
      setError("Enter the absolute path of a file or folder on the server.");
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      const dataset = await importPath({
        path: trimmed,
        format: options.format || null,
        text_column: options.format !== "txt" ? options.textColumn.trim() || null : null,
        txt_mode: options.txtMode,
        name: options.name.trim() || null,
      });
      useToasts.getState().push({ kind: "info", title: `Importing ${dataset.name}`, message: `Job ${dataset.job_id}` });
      setPath("");
      setOptions(emptySourceOptions);
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
      title="Import from the server's disk"
      onClose={close}
      size="lg"
      data-testid="dataset-import-dialog"
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button variant="primary" onClick={() => void submit()} disabled={submitting} data-testid="dataset-import-submit">
            {submitting && <Loader2 className="size-3.5 animate-spin" aria-hidden />}
            Import
          </Button>
        </>
      }
    >
      <form className="space-y-3" onSubmit={submit} noValidate>
        <Field label="Path on the server" hint="a .txt, .jsonl, .csv or .parquet file, or a folder of them (absolute path)">
          {({ id, describedBy }) => (
            <input
              id={id}
              className={`${inputClass} font-mono`}
              value={path}
              onChange={(e) => setPath(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") void submit(e);
              }}
              placeholder="/data/corpora/my-texts or …/train.jsonl"
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
              data-testid="dataset-import-path"
              data-autofocus
            />
          )}
        </Field>
        <SourceOptions value={options} onChange={setOptions} showTxtMode={showTxtMode} testIdPrefix="dataset-import" />
        {error && (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs break-words text-red-200" role="alert" data-testid="dataset-import-error">
            {error}
          </p>
        )}
      </form>
    </Modal>
  );
}

import { useState, type FormEvent, type KeyboardEvent } from "react";
import { Loader2 } from "lucide-react";
import { isApiError } from "../../api/client";
import type { ModelFormat } from "../../api/types";
import { MODEL_FORMATS } from "../../api/types";
import { Button } from "../../components/Button";
import { Field, inputClass } from "../../components/Field";
import { Modal } from "../../components/Modal";
import { useModels } from "../../stores/models";
import { useToasts } from "../../stores/toasts";

/** Import a model from the server's disk: a HF model folder (copied or linked) or a .gguf file. */
export function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [path, setPath] = useState("");
  const [mode, setMode] = useState<"copy" | "link">("copy");
  const [format, setFormat] = useState<ModelFormat | "">("");
  const [name, setName] = useState("");
  const [trustRemoteCode, setTrustRemoteCode] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const importModel = useModels((s) => s.importModel);
  const isGguf = path.trim().toLowerCase().endsWith(".gguf");
  const pathProblem = path.trim() === "" ? "Enter the path of a model folder or a .gguf file on the server." : null;

  const close = () => {
    setError(null);
    onClose();
  };

  const submit = async (e?: FormEvent | KeyboardEvent<HTMLInputElement>) => {
    e?.preventDefault();
    if (pathProblem) {
      setError(pathProblem);
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      const model = await importModel({
        path: path.trim(),
        mode,
        format: format || null,
        name: name.trim() || null,
        trust_remote_code: trustRemoteCode,
      });
      useToasts.getState().push({ kind: "info", title: `Importing ${model.name}`, message: `Job ${model.job_id}` });
      setPath("");
      setName("");
      setFormat("");
      setTrustRemoteCode(false);
      close();
    } catch (err) {
      setError(isApiError(err) && err.status ? `${err.message} (HTTP ${err.status})` : err instanceof Error ? err.message : String(err));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Modal
      open={open}
      title="Import a model from disk"
      onClose={close}
      size="lg"
      data-testid="import-dialog"
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button variant="primary" onClick={() => void submit()} disabled={submitting} data-testid="import-submit">
            {submitting && <Loader2 className="size-3.5 animate-spin" aria-hidden />}
            Import
          </Button>
        </>
      }
    >
      <form className="space-y-3" onSubmit={submit} noValidate>
        <Field label="Path on the server" hint="a Hugging Face model folder (config.json + weights) or a .gguf file">
          {({ id, describedBy }) => (
            <input
              id={id}
              className={`${inputClass} font-mono`}
              value={path}
              onChange={(e) => setPath(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") void submit(e);
              }}
              placeholder="/data/models/SmolLM2-135M or …/model.gguf"
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
              data-testid="import-path"
              data-autofocus
            />
          )}
        </Field>
        <fieldset>
          <legend className="mb-1 text-xs font-medium text-zinc-300">Folder storage</legend>
          <div className="flex gap-4 text-xs text-zinc-200">
            {(["copy", "link"] as const).map((m) => (
              <label key={m} className="flex items-center gap-1.5">
                <input
                  type="radio"
                  name="import-mode"
                  value={m}
                  checked={mode === m}
                  disabled={isGguf}
                  onChange={() => setMode(m)}
                  className="accent-sky-500"
                  data-testid={`import-mode-${m}`}
                />
                {m === "copy" ? "Copy into the studio" : "Link (files stay where they are)"}
              </label>
            ))}
          </div>
          <p className="mt-1 text-[11px] text-zinc-500">
            {isGguf ? "A GGUF file is converted once to safetensors, so later loads take seconds." : "Link saves disk space, but moving or deleting the folder breaks the model."}
          </p>
        </fieldset>
        <div className="grid grid-cols-2 gap-2">
          <Field label="Load in format (optional)">
            {({ id }) => (
              <select
                id={id}
                className={inputClass}
                value={format}
                onChange={(e) => setFormat(e.target.value as ModelFormat | "")}
                data-testid="import-format"
              >
                <option value="">Import only</option>
                {MODEL_FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {f.toUpperCase()}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Name (optional)">
            {({ id }) => (
              <input id={id} className={inputClass} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} data-testid="import-name" />
            )}
          </Field>
        </div>
        <label className="flex items-start gap-2 text-xs text-zinc-200">
          <input
            type="checkbox"
            className="mt-0.5 accent-amber-500"
            checked={trustRemoteCode}
            onChange={(e) => setTrustRemoteCode(e.target.checked)}
            data-testid="import-trust-remote-code"
          />
          <span>
            Trust remote code — <span className="text-amber-200/90">runs Python code shipped with the model on this machine; only for code you trust.</span>
          </span>
        </label>
        {error && (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert" data-testid="import-error">
            {error}
          </p>
        )}
      </form>
    </Modal>
  );
}

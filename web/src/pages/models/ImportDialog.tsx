import { useState } from "react";
import type { ModelFormat } from "../../api/types";
import { MODEL_FORMATS } from "../../api/types";
import { Field, inputClass } from "../../components/Field";
import { ImportPathDialog } from "../../components/ImportPathDialog";
import { useModels } from "../../stores/models";

/** Import a model from the server's disk: a HF model folder (copied or linked) or a .gguf file. */
export function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [path, setPath] = useState("");
  const [mode, setMode] = useState<"copy" | "link">("copy");
  const [format, setFormat] = useState<ModelFormat | "">("");
  const [name, setName] = useState("");
  const [trustRemoteCode, setTrustRemoteCode] = useState(false);
  const importModel = useModels((s) => s.importModel);
  const isGguf = path.trim().toLowerCase().endsWith(".gguf");

  return (
    <ImportPathDialog
      open={open}
      onClose={onClose}
      title="Import a model from disk"
      path={path}
      onPathChange={setPath}
      pathHint="a Hugging Face model folder (config.json + weights) or a .gguf file"
      pathPlaceholder="/data/models/SmolLM2-135M or …/model.gguf"
      emptyPathMessage="Enter the path of a model folder or a .gguf file on the server."
      onImport={(trimmed) => importModel({ path: trimmed, mode, format: format || null, name: name.trim() || null, trust_remote_code: trustRemoteCode })}
      onImported={() => {
        setPath("");
        setName("");
        setFormat("");
        setTrustRemoteCode(false);
      }}
      testIds={{ dialog: "import-dialog", path: "import-path", submit: "import-submit", error: "import-error" }}
    >
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
    </ImportPathDialog>
  );
}

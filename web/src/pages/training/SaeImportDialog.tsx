import { useEffect, useRef, useState } from "react";
import { messageOf } from "../../api/client";
import { modelsApi } from "../../api/models";
import { trainingApi, type SAE } from "../../api/training";
import type { Model } from "../../api/types";
import { Field, inputClass } from "../../components/Field";
import { ImportPathDialog } from "../../components/ImportPathDialog";

/** The ready models an imported SAE can be filed under, asked when the dialog opens. */
function useReadyModels(open: boolean): { models: Model[]; error: string | null } {
  const [state, setState] = useState<{ models: Model[]; error: string | null }>({ models: [], error: null });
  useEffect(() => {
    if (!open) return;
    const ctrl = new AbortController();
    modelsApi
      .list({ ready: true, limit: 200 }, ctrl.signal)
      .then((page) => !ctrl.signal.aborted && setState({ models: page.items, error: null }))
      .catch((e) => !ctrl.signal.aborted && setState({ models: [], error: messageOf(e) }));
    return () => ctrl.abort();
  }, [open]);
  return state;
}

/**
 * Import an SAE from the server's disk: a SAELens folder (cfg.json + sae_weights.safetensors) or a sparsify one
 * (cfg.json + sae.safetensors), copied into the studio in the SAELens layout. `modelId` files it under that model
 * (a model's SAEs tab); without it the user may pick one, which the server checks against the SAE's d_in.
 */
export function SaeImportDialog({ open, onClose, onImported, modelId }: { open: boolean; onClose: () => void; onImported: (sae: SAE) => void; modelId?: string }) {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const [chosenModel, setChosenModel] = useState("");
  const { models, error: modelsError } = useReadyModels(open && !modelId);
  // The dialog calls onImported after onImport resolves, in the same tick: state would still be the old render's.
  const imported = useRef<SAE | null>(null);

  return (
    <ImportPathDialog
      open={open}
      onClose={onClose}
      title="Import an SAE from disk"
      path={path}
      onPathChange={setPath}
      pathHint="an absolute path: a SAELens folder (cfg.json + sae_weights.safetensors) or a sparsify one (cfg.json + sae.safetensors)"
      pathPlaceholder="/data/saes/blocks.6.resid_post"
      emptyPathMessage="Enter the path of a SAELens or sparsify SAE folder on the server."
      onImport={async (trimmed) => {
        const sae = await trainingApi.importSae({ path: trimmed, name: name.trim() || null, model_id: modelId ?? (chosenModel || null) });
        imported.current = sae;
        return sae;
      }}
      onImported={() => {
        setPath("");
        setName("");
        setChosenModel("");
        if (imported.current) onImported(imported.current);
      }}
      testIds={{ dialog: "sae-import-dialog", path: "sae-import-path", submit: "sae-import-submit", error: "sae-import-error" }}
    >
      <div className="grid grid-cols-2 gap-2">
        <Field label="Name (optional)" hint="default: the folder's name">
          {({ id, describedBy }) => (
            <input id={id} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} aria-describedby={describedBy} data-testid="sae-import-name" />
          )}
        </Field>
        {!modelId && (
          <Field label="Model (optional)" hint="the studio model it reads; its width must match the SAE's d_in" error={modelsError}>
            {({ id, describedBy, invalid }) => (
              <select
                id={id}
                className={inputClass}
                value={chosenModel}
                onChange={(e) => setChosenModel(e.target.value)}
                aria-describedby={describedBy}
                aria-invalid={invalid}
                data-testid="sae-import-model"
              >
                <option value="">— none</option>
                {models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>
    </ImportPathDialog>
  );
}

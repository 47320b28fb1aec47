import { useState } from "react";
import { steeringApi } from "../../api/steering";
import { Field, inputClass } from "../../components/Field";
import { ImportPathDialog } from "../../components/ImportPathDialog";

/** Import a llama.cpp control-vector GGUF from the server's disk, checked against the model (one direction per layer). */
export function ControlVectorImport({ open, modelId, onClose, onImported }: {
  open: boolean; modelId: string; onClose: () => void; onImported: () => void;
}) {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  return (
    <ImportPathDialog open={open} onClose={onClose} title="Import a control vector (GGUF)" path={path} onPathChange={setPath}
      pathHint="a llama.cpp control-vector .gguf file on the server's machine" pathPlaceholder="/data/happy.gguf"
      emptyPathMessage="give the path of the .gguf file on the server"
      onImport={async (trimmed) => {
        const saved = await steeringApi.importControlVector({ path: trimmed, name: name.trim() || null, model_id: modelId });
        return { name: `${saved.length} direction${saved.length === 1 ? "" : "s"}` };
      }}
      onImported={() => {
        setPath("");
        setName("");
        onImported();
      }}
      testIds={{ dialog: "control-vector-import", path: "control-vector-path", submit: "control-vector-submit", error: "control-vector-error" }}>
      <Field label="Name" hint="default: the file's name">
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} className={inputClass} value={name}
          onChange={(e) => setName(e.target.value)} />}
      </Field>
    </ImportPathDialog>
  );
}

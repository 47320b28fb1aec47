import { useState } from "react";
import { Save, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { steeringApi, type Direction, type Preset } from "../../api/steering";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { useToasts } from "../../stores/toasts";
import { directionLookup, patchFromInterventions, presetBody, type SteeringDraft } from "./draft";

export interface PresetsBarProps {
  draft: SteeringDraft;
  presets: Preset[];
  directions: Direction[];
  onChange: (patch: Partial<SteeringDraft>) => void;
  onSaved: () => void;
}

/** Save the interventions as a named preset, load one back (replacing the list), delete one. */
export function PresetsBar({ draft, presets, directions, onChange, onSaved }: PresetsBarProps) {
  const [chosen, setChosen] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Preset | null>(null);
  const preset = presets.find((p) => p.id === chosen);

  async function save(): Promise<void> {
    setError(null);
    try {
      const saved = await steeringApi.createPreset(presetBody(draft, name.trim(), ""));
      setName("");
      setChosen(saved.id);
      useToasts.getState().push({ kind: "success", title: `Preset ${saved.name} saved` });
      onSaved();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  function load(p: Preset): void {
    onChange(patchFromInterventions(p.interventions, directionLookup(directions)));
  }

  return (
    <div className="space-y-2" data-testid="steering-presets">
      <div className="flex flex-wrap items-center gap-2">
        <select className={`${inputClass} w-auto min-w-40 flex-1`} value={chosen} onChange={(e) => setChosen(e.target.value)}
          aria-label="Preset" data-testid="preset-pick">
          <option value="">{presets.length ? "Presets…" : "No preset saved"}</option>
          {presets.map((p) => <option key={p.id} value={p.id}>{p.name} ({p.interventions.length})</option>)}
        </select>
        <Button disabled={!preset} onClick={() => preset && load(preset)} data-testid="preset-load">Load</Button>
        <Button variant="ghost" disabled={!preset} onClick={() => setDeleting(preset ?? null)} aria-label="Delete the preset">
          <Trash2 className="size-4" aria-hidden />
        </Button>
      </div>
      <form className="flex items-center gap-2" noValidate onSubmit={(e) => {
        e.preventDefault();
        if (name.trim() && draft.items.length) void save();
      }}>
        <input className={`${inputClass} flex-1`} value={name} onChange={(e) => setName(e.target.value)} placeholder="Preset name"
          aria-label="Preset name" data-testid="preset-name" />
        <Button type="submit" disabled={!name.trim() || !draft.items.length} data-testid="preset-save">
          <Save className="size-4" aria-hidden />Save
        </Button>
      </form>
      {error && <FormError testId="preset-error">{error}</FormError>}
      <ConfirmDialog open={deleting !== null} title="Delete this preset?" danger confirmLabel="Delete"
        message={`The preset ${deleting?.name ?? ""} is removed; experiments made with it stay in the history.`}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const target = deleting;
          setDeleting(null);
          if (!target) return;
          steeringApi.deletePreset(target.id).then(() => {
            setChosen("");
            onSaved();
          }).catch((e) => setError(messageOf(e)));
        }} />
    </div>
  );
}

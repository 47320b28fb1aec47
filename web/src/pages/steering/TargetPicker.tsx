import type { Analysis } from "../../api/features";
import type { SAE } from "../../api/training";
import type { Model } from "../../api/types";
import { Field, inputClass } from "../../components/Field";
import type { SteeringDraft } from "./draft";

export interface TargetPickerProps {
  draft: SteeringDraft;
  models: Model[];
  saes: SAE[];
  analyses: Analysis[];
  onChange: (patch: Partial<SteeringDraft>) => void;
}

/** The model (ready ones), an SAE of it (its hook point shown) and, when it has one, a completed feature analysis. */
export function TargetPicker({ draft, models, saes, analyses, onChange }: TargetPickerProps) {
  const sae = saes.find((s) => s.id === draft.saeId);
  const knownModel = models.some((m) => m.id === draft.modelId);
  return (
    <div className="space-y-3">
      <Field label="Model" hint={models.length === 0 ? "No ready model: download or import one in Models." : undefined}>
        {({ id, describedBy }) => (
          <select id={id} aria-describedby={describedBy} className={inputClass} value={draft.modelId} data-testid="steering-model"
            onChange={(e) => onChange({ modelId: e.target.value, saeId: "", analysisId: null, items: [] })}>
            <option value="">Choose a model…</option>
            {!knownModel && draft.modelId && <option value={draft.modelId}>{draft.modelId} (not ready)</option>}
            {models.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
          </select>
        )}
      </Field>
      <Field label="SAE" hint={sae ? `reads and writes ${sae.hook_point ?? "?"} · ${sae.d_sae.toLocaleString("en-US")} features · ${sae.architecture}`
        : draft.modelId && saes.length === 0 ? "This model has no SAE: train or import one (Training), or steer with a direction." : undefined}>
        {({ id, describedBy }) => (
          <select id={id} aria-describedby={describedBy} className={inputClass} value={draft.saeId} disabled={!draft.modelId}
            data-testid="steering-sae" onChange={(e) => onChange({ saeId: e.target.value, analysisId: null })}>
            <option value="">{saes.length ? "Choose an SAE…" : "No SAE"}</option>
            {saes.map((s) => <option key={s.id} value={s.id}>{s.name} ({s.hook_point ?? "?"})</option>)}
          </select>
        )}
      </Field>
      {sae && (
        <p className="text-[11px] text-zinc-400" data-testid="steering-hook-point">
          Hook point: <code className="text-zinc-200">{sae.hook_point ?? "unknown"}</code>
        </p>
      )}
      {sae && (
        <Field label="Feature analysis" hint={analyses.length ? "search features by label, use strengths in units of max activation"
          : "No completed analysis of this SAE: pick features by index (analyse it in Features to search)."}>
          {({ id, describedBy }) => (
            <select id={id} aria-describedby={describedBy} className={inputClass} value={draft.analysisId ?? ""} disabled={!analyses.length}
              data-testid="steering-analysis" onChange={(e) => onChange({ analysisId: e.target.value || null })}>
              <option value="">None</option>
              {analyses.map((a) => <option key={a.id} value={a.id}>{a.id.slice(0, 8)} · {a.num_sequences} sequences · {a.created_at.slice(0, 10)}</option>)}
            </select>
          )}
        </Field>
      )}
    </div>
  );
}

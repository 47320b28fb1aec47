import { useState } from "react";
import { Download, Plus, Trash2 } from "lucide-react";
import { steeringApi, type Direction } from "../../api/steering";
import type { SAE } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { ConfirmDialog } from "../../components/Modal";
import { reportError } from "../../stores/toasts";
import { ControlVectorImport } from "./ControlVectorImport";
import { DirectionForm } from "./DirectionForm";
import { featureItem, itemKey, type PositionsChoice, type SteeringDraft, type SteeringItem } from "./draft";
import { FeatureSearch } from "./FeatureSearch";
import { InterventionRow } from "./InterventionRow";

export interface InterventionsCardProps {
  draft: SteeringDraft;
  sae: SAE | undefined;
  directions: Direction[];
  onChange: (patch: Partial<SteeringDraft>) => void;
  onDirectionsChanged: () => void;
}

/** What to steer with (features of the SAE by index or search, saved directions) and where (positions). */
export function InterventionsCard({ draft, sae, directions, onChange, onDirectionsChanged }: InterventionsCardProps) {
  const [index, setIndex] = useState("");
  const [directionId, setDirectionId] = useState("");
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [deleting, setDeleting] = useState<Direction | null>(null);
  const parsed = /^\d+$/.test(index.trim()) ? Number(index) : null;
  const beyond = sae && parsed !== null && parsed >= sae.d_sae;
  const add = (item: SteeringItem) => onChange({ items: [...draft.items, item] });
  const direction = directions.find((d) => d.id === directionId);

  return (
    <Card title="Interventions" bodyClassName="space-y-3 p-3" data-testid="steering-interventions">
      {sae && (
        <div className="space-y-2">
          <form className="flex items-end gap-2" noValidate onSubmit={(e) => {
            e.preventDefault();
            if (parsed !== null) add(featureItem(sae.id, parsed));
            setIndex("");
          }}>
            <Field label="Feature by index" className="flex-1"
              error={beyond ? `the SAE has ${sae.d_sae} features (0–${sae.d_sae - 1}); the server will refuse ${parsed}` : null}>
              {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} type="number" min={0}
                className={inputClass} value={index} onChange={(e) => setIndex(e.target.value)} placeholder={`0–${sae.d_sae - 1}`}
                data-testid="feature-index" />}
            </Field>
            <Button type="submit" disabled={parsed === null} data-testid="feature-add"><Plus className="size-4" aria-hidden />Add</Button>
          </form>
          {draft.analysisId && (
            <FeatureSearch analysisId={draft.analysisId}
              onAdd={(hit) => add(featureItem(sae.id, hit.latent, { label: hit.label, maxActivation: hit.max_activation }))} />
          )}
        </div>
      )}
      {draft.modelId && (
        <div className="space-y-2">
          <Field label="Saved direction">
            {({ id }) => (
              <select id={id} className={inputClass} value={directionId} onChange={(e) => setDirectionId(e.target.value)} data-testid="direction-pick">
                <option value="">{directions.length ? "Choose a direction…" : "No saved direction"}</option>
                {directions.map((d) => <option key={d.id} value={d.id}>{d.name} ({d.hook_point}, norm {d.norm.toFixed(2)})</option>)}
              </select>
            )}
          </Field>
          <div className="flex flex-wrap items-center gap-2">
            <Button size="sm" disabled={!direction} data-testid="direction-add" onClick={() => direction && add({ kind: "direction", key: itemKey(),
              directionId: direction.id, name: direction.name, hookPoint: direction.hook_point, strength: 1 })}>
              <Plus className="size-3" aria-hidden />Add
            </Button>
            {direction && (
              <a className="inline-flex h-6 items-center gap-1 rounded border border-zinc-700 px-2 text-xs text-zinc-200 hover:bg-zinc-800"
                href={steeringApi.controlVectorUrl(direction.id)} download title="llama.cpp control-vector GGUF" data-testid="direction-export">
                <Download className="size-3" aria-hidden />GGUF
              </a>
            )}
            {direction && (
              <Button size="sm" variant="ghost" onClick={() => setDeleting(direction)} aria-label={`Delete direction ${direction.name}`}>
                <Trash2 className="size-3" aria-hidden />
              </Button>
            )}
            <span className="flex-1" />
            <Button size="sm" onClick={() => setCreating(true)} data-testid="direction-new" title="a direction from contrastive prompt pairs">New from pairs…</Button>
            <Button size="sm" onClick={() => setImporting(true)} data-testid="direction-import" title="a llama.cpp control-vector GGUF">Import GGUF…</Button>
          </div>
        </div>
      )}
      {draft.items.length > 0 ? (
        <ul className="space-y-2">
          {draft.items.map((item, i) => (
            <InterventionRow key={item.key} item={item} index={i} canScale={Boolean(draft.analysisId)}
              onChange={(changed) => onChange({ items: draft.items.map((old) => (old.key === item.key ? changed : old)) })}
              onRemove={() => onChange({ items: draft.items.filter((old) => old.key !== item.key) })} />
          ))}
        </ul>
      ) : (
        <p className="text-xs text-zinc-500">{draft.modelId ? "No intervention yet: add a feature or a direction." : "Pick a model first."}</p>
      )}
      <div className="flex items-end gap-2">
        <Field label="Positions" className="flex-1" hint="where the interventions apply (with the KV cache, consistently)">
          {({ id, describedBy }) => (
            <select id={id} aria-describedby={describedBy} className={inputClass} value={draft.positions} data-testid="steering-positions"
              onChange={(e) => onChange({ positions: e.target.value as PositionsChoice })}>
              <option value="all">all (prompt and generated)</option>
              <option value="prompt">prompt only</option>
              <option value="generated">generated only</option>
              <option value="from">from position p on</option>
            </select>
          )}
        </Field>
        {draft.positions === "from" && (
          <Field label="p" className="w-20">
            {({ id }) => <input id={id} type="number" min={0} className={inputClass} value={draft.fromPosition}
              onChange={(e) => onChange({ fromPosition: e.target.value })} data-testid="steering-from-position" />}
          </Field>
        )}
      </div>
      <ControlVectorImport open={importing} modelId={draft.modelId} onClose={() => setImporting(false)} onImported={onDirectionsChanged} />
      <ConfirmDialog open={deleting !== null} title="Delete this direction?" danger confirmLabel="Delete"
        message={`${deleting?.name ?? ""} (${deleting?.hook_point ?? ""}) and its file are removed; presets that use it stop working.`}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const target = deleting;
          setDeleting(null);
          if (!target) return;
          steeringApi.deleteDirection(target.id).then(() => {
            setDirectionId("");
            onChange({ items: draft.items.filter((item) => item.kind !== "direction" || item.directionId !== target.id) });
            onDirectionsChanged();
          }).catch((e) => reportError(e, `Could not delete ${target.name}`));
        }} />
      {creating && (
        <DirectionForm open modelId={draft.modelId} defaultHookPoint={sae?.hook_point ?? "blocks.0.resid_post"}
          onClose={() => setCreating(false)} onCreated={(created) => {
            onDirectionsChanged();
            setDirectionId(created.id);
          }} />
      )}
    </Card>
  );
}

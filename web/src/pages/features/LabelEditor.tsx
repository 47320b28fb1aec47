/** A latent's label and notes, edited in place; saving makes the label a `user` label (the server says so). */
import { useEffect, useState, type FormEvent } from "react";
import { Loader2, Save } from "lucide-react";
import { messageOf } from "../../api/client";
import type { Feature, FeatureUpdate } from "../../api/features";
import { Button } from "../../components/Button";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";

/** The server's limits (schemas.MAX_LABEL_CHARS, MAX_NOTES_CHARS), checked here too so the fix shows before a save. */
export const MAX_LABEL_CHARS = 200;
export const MAX_NOTES_CHARS = 10_000;

/** Only what changed, or null when nothing did; an emptied label is sent as "" (the server clears it). */
export function labelPatch(feature: Pick<Feature, "label" | "notes">, label: string, notes: string): FeatureUpdate | null {
  const patch: FeatureUpdate = {};
  if (label.trim() !== (feature.label ?? "")) patch.label = label.trim();
  if (notes !== (feature.notes ?? "")) patch.notes = notes;
  return Object.keys(patch).length ? patch : null;
}

export function LabelEditor({ feature, onSave }: { feature: Feature; onSave: (patch: FeatureUpdate) => Promise<unknown> }) {
  const [label, setLabel] = useState(feature.label ?? "");
  const [notes, setNotes] = useState(feature.notes ?? "");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Another latent (or a saved answer): start from what the server has.
  useEffect(() => {
    setLabel(feature.label ?? "");
    setNotes(feature.notes ?? "");
  }, [feature.latent, feature.label, feature.notes]);

  const labelError = label.trim().length > MAX_LABEL_CHARS ? `Label: at most ${MAX_LABEL_CHARS} characters (${label.trim().length} now)` : null;
  const notesError = notes.length > MAX_NOTES_CHARS ? `Notes: at most ${MAX_NOTES_CHARS.toLocaleString("en-US")} characters` : null;
  const patch = labelPatch(feature, label, notes);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!patch || labelError || notesError) return;
    setSaving(true);
    setError(null);
    try {
      await onSave(patch);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <form className="space-y-2" onSubmit={(e) => void submit(e)} data-testid="feature-label-form">
      <Field label="Label" error={labelError} hint={feature.label_kind ? `Now: ${feature.label_kind} label` : "No label yet"} data-testid="feature-label-field">
        {({ id, describedBy, invalid }) => (
          <input id={id} aria-describedby={describedBy} aria-invalid={invalid} className={inputClass} value={label} placeholder="What it fires on…" onChange={(e) => setLabel(e.target.value)} data-testid="feature-label-input" />
        )}
      </Field>
      <Field label="Notes" error={notesError} data-testid="feature-notes-field">
        {({ id, describedBy, invalid }) => (
          <textarea id={id} aria-describedby={describedBy} aria-invalid={invalid} rows={3} className={inputClass} value={notes} onChange={(e) => setNotes(e.target.value)} data-testid="feature-notes-input" />
        )}
      </Field>
      {error && <FormError testId="feature-label-error">{error}</FormError>}
      <Button type="submit" size="sm" variant="primary" disabled={!patch || saving || Boolean(labelError || notesError)} data-testid="feature-label-save">
        {saving ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Save className="size-3" aria-hidden />} Save
      </Button>
    </form>
  );
}

/**
 * The "About" card of a detail page (model, dataset): label/value rows, and the rename-and-notes form.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Loader2, Save } from "lucide-react";
import { Link } from "../lib/router";
import { Button } from "./Button";
import { Field, inputClass } from "./Field";

/** Label/value rows; values in monospace, long ones broken anywhere. */
export function DetailList({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <dl className="grid grid-cols-[7rem_1fr] gap-x-2 gap-y-1 text-xs" data-testid={testId}>
      {children}
    </dl>
  );
}

export function DetailRow({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 font-mono break-all text-zinc-200">{children}</dd>
    </>
  );
}

/** The job that produced the item, linked to the Jobs page (nothing without one). */
export function JobDetailRow({ jobId }: { jobId: string | null | undefined }) {
  if (!jobId) return null;
  return (
    <DetailRow label="Job">
      <Link href={`/jobs?job=${jobId}`} className="text-sky-300 hover:underline">
        {jobId}
      </Link>
    </DetailRow>
  );
}

export interface RenameNotesPatch {
  name?: string;
  notes?: string;
}

/**
 * Rename and notes; Save is enabled only when something changed and sends only what changed. A refetch
 * (another tab, the CLI) brings new values in unless the user is editing them.
 */
export function RenameNotesForm({
  item,
  saving,
  onSave,
  notesPlaceholder,
  testIdPrefix,
}: {
  item: { name: string; notes: string | null };
  saving: boolean;
  onSave: (patch: RenameNotesPatch) => void;
  notesPlaceholder: string;
  /** `{prefix}-edit-form`, `-edit-name`, `-edit-notes`, `-edit-save`. */
  testIdPrefix: string;
}) {
  const [name, setName] = useState(item.name);
  const [notes, setNotes] = useState(item.notes ?? "");
  const [base, setBase] = useState({ name: item.name, notes: item.notes ?? "" });
  useEffect(() => {
    const next = { name: item.name, notes: item.notes ?? "" };
    if (next.name === base.name && next.notes === base.notes) return;
    if (name === base.name) setName(next.name);
    if (notes === base.notes) setNotes(next.notes);
    setBase(next);
  }, [item.name, item.notes]);

  const nameProblem = name.trim() === "" ? "A name cannot be empty." : null;
  const dirty = name.trim() !== item.name || notes !== (item.notes ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (nameProblem || !dirty) return;
    const patch: RenameNotesPatch = {};
    if (name.trim() !== item.name) patch.name = name.trim();
    if (notes !== (item.notes ?? "")) patch.notes = notes;
    onSave(patch);
  };
  return (
    <form className="space-y-2" onSubmit={submit} aria-label="Rename and notes" data-testid={`${testIdPrefix}-edit-form`}>
      <Field label="Name" error={nameProblem}>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            className={inputClass}
            value={name}
            maxLength={255}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid={`${testIdPrefix}-edit-name`}
          />
        )}
      </Field>
      <Field label="Notes">
        {({ id }) => (
          <textarea
            id={id}
            className={`${inputClass} min-h-20 font-sans`}
            value={notes}
            maxLength={10_000}
            onChange={(e) => setNotes(e.target.value)}
            placeholder={notesPlaceholder}
            data-testid={`${testIdPrefix}-edit-notes`}
          />
        )}
      </Field>
      <Button type="submit" size="sm" variant="primary" disabled={!dirty || Boolean(nameProblem) || saving} data-testid={`${testIdPrefix}-edit-save`}>
        {saving ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Save className="size-3" aria-hidden />} Save
      </Button>
    </form>
  );
}

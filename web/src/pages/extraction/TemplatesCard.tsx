import { useEffect, useState, type FormEvent } from "react";
import { Loader2, Save, Star, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import type { ExtractionTemplate } from "../../api/templates";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { cn } from "../../lib/cn";
import { formatInteger } from "../../lib/format";
import { useTemplates } from "../../stores/templates";
import { toTemplate, type ExtractionDraft } from "./draft";
import { describeLayers } from "./layers";
import { TemplateTransfer } from "./TemplateTransfer";

function TemplateRow({ template, onApply, onDelete }: { template: ExtractionTemplate; onApply: () => void; onDelete: () => void }) {
  const toggle = useTemplates((s) => s.toggleFavorite);
  const busy = useTemplates((s) => Boolean(s.pending[template.id]));
  const t = template;
  return (
    <li className="flex items-center gap-1.5 rounded border border-zinc-800 bg-zinc-950/40 px-1.5 py-1" data-testid={`template-${t.id}`} data-favorite={t.is_favorite}>
      <button
        type="button"
        className={cn("rounded p-0.5", t.is_favorite ? "text-amber-400" : "text-zinc-600 hover:text-zinc-300")}
        aria-label={t.is_favorite ? `Unstar ${t.name}` : `Star ${t.name}`}
        aria-pressed={t.is_favorite}
        onClick={() => void toggle(t.id)}
        data-testid={`template-star-${t.id}`}
      >
        <Star className="size-3.5" fill={t.is_favorite ? "currentColor" : "none"} aria-hidden />
      </button>
      <button type="button" className="min-w-0 flex-1 text-left" onClick={onApply} title="Fill the form with these settings" data-testid={`template-apply-${t.id}`}>
        <span className="block truncate text-xs font-medium text-zinc-100">{t.name}</span>
        <span className="block truncate font-mono text-[10px] text-zinc-500">
          {describeLayers(t.layers)} · {t.hook_points.join("+")} · {t.max_samples === null ? "all" : formatInteger(t.max_samples)} samples · batch {t.batch_size} · {t.dtype}
        </span>
      </button>
      <Button size="sm" variant="ghost" aria-label={`Delete template ${t.name}`} disabled={busy} onClick={onDelete} data-testid={`template-delete-${t.id}`}>
        <Trash2 className="size-3" aria-hidden />
      </Button>
    </li>
  );
}

function SaveTemplateForm({ draft, canSave }: { draft: ExtractionDraft; canSave: boolean }) {
  const save = useTemplates((s) => s.save);
  const [name, setName] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const t = await save(toTemplate(draft, name));
      setSaved(t.name);
      setName("");
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <form className="space-y-1" onSubmit={(e) => void submit(e)} aria-label="Save as template" data-testid="template-save-form">
      <div className="flex gap-1.5">
        <input
          className={cn(inputClass, "text-xs")}
          value={name}
          maxLength={255}
          placeholder="template name (optional)"
          aria-label="Template name"
          onChange={(e) => setName(e.target.value)}
          data-testid="template-save-name"
        />
        <Button type="submit" size="md" disabled={!canSave || saving} className="shrink-0" data-testid="template-save">
          {saving ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Save className="size-3.5" aria-hidden />} Save as template
        </Button>
      </div>
      {error && <FormError testId="template-save-error">{error}</FormError>}
      {saved && !error && (
        <p className="text-[11px] text-emerald-300" data-testid="template-saved">
          Saved as “{saved}”.
        </p>
      )}
    </form>
  );
}

/** Saved settings: favourites first, apply in one click, star, delete; save the form's settings; import/export. */
export function TemplatesCard({ draft, canSave, onApply }: { draft: ExtractionDraft; canSave: boolean; onApply: (t: ExtractionTemplate) => void }) {
  const templates = useTemplates((s) => s.templates);
  const loaded = useTemplates((s) => s.loaded);
  const fetchTemplates = useTemplates((s) => s.fetch);
  const remove = useTemplates((s) => s.remove);
  const [deleting, setDeleting] = useState<ExtractionTemplate | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    void fetchTemplates(ctrl.signal);
    return () => ctrl.abort();
  }, [fetchTemplates]);

  return (
    <Card title={`Templates (${templates.length})`} actions={<TemplateTransfer />} data-testid="extract-templates">
      <div className="space-y-2">
        {templates.length === 0 ? (
          <p className="text-xs text-zinc-500" data-testid="templates-empty">
            {loaded ? "No template yet: save the settings below to reuse them on any model." : "Loading templates…"}
          </p>
        ) : (
          <ul className="max-h-56 space-y-1 overflow-y-auto" data-testid="templates-list">
            {templates.map((t) => (
              <TemplateRow key={t.id} template={t} onApply={() => onApply(t)} onDelete={() => setDeleting(t)} />
            ))}
          </ul>
        )}
        <SaveTemplateForm draft={draft} canSave={canSave} />
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this template?"
        message={`Delete template '${deleting?.name ?? ""}'? This cannot be undone.`}
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const t = deleting;
          setDeleting(null);
          if (t) void remove(t.id);
        }}
      />
    </Card>
  );
}

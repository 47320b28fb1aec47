import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { AlertTriangle, ArrowLeft, Loader2, Save } from "lucide-react";
import type { Model } from "../../api/types";
import { isActiveModelStatus, isRetryableModelStatus } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { formatBytes, formatCount, formatInteger, formatTimestamp } from "../../lib/format";
import { Link, navigate } from "../../lib/router";
import { useConnection } from "../../stores/live";
import { useModels } from "../../stores/models";
import { reportError } from "../../stores/toasts";
import { ArchitectureViewer } from "./ArchitectureViewer";
import { modelSource } from "./ModelCard";
import { DeleteModelButton, RetryButton } from "./ModelActions";
import { CancelDownloadButton, ModelProgress } from "./ModelProgress";
import { ModelStatusBadge } from "./ModelStatusBadge";
import { VariantsPanel } from "./VariantsPanel";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 font-mono break-all text-zinc-200">{children}</dd>
    </>
  );
}

/** Rename and notes; Save is enabled only when something changed. */
function EditForm({ model }: { model: Model }) {
  const [name, setName] = useState(model.name);
  const [notes, setNotes] = useState(model.notes ?? "");
  const update = useModels((s) => s.update);
  const saving = useModels((s) => s.pending[model.id] === "save");
  // A refetch (another tab, the CLI) brings new values in unless the user is editing them.
  const [base, setBase] = useState({ name: model.name, notes: model.notes ?? "" });
  useEffect(() => {
    const next = { name: model.name, notes: model.notes ?? "" };
    if (next.name === base.name && next.notes === base.notes) return;
    if (name === base.name) setName(next.name);
    if (notes === base.notes) setNotes(next.notes);
    setBase(next);
  }, [model.name, model.notes]);

  const nameProblem = name.trim() === "" ? "A name cannot be empty." : null;
  const dirty = name.trim() !== model.name || notes !== (model.notes ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (nameProblem || !dirty) return;
    const patch: { name?: string; notes?: string } = {};
    if (name.trim() !== model.name) patch.name = name.trim();
    if (notes !== (model.notes ?? "")) patch.notes = notes;
    void update(model.id, patch);
  };
  return (
    <form className="space-y-2" onSubmit={submit} aria-label="Rename and notes" data-testid="model-edit-form">
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
            data-testid="model-edit-name"
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
            placeholder="What you use it for, what you found…"
            data-testid="model-edit-notes"
          />
        )}
      </Field>
      <Button type="submit" size="sm" variant="primary" disabled={!dirty || Boolean(nameProblem) || saving} data-testid="model-edit-save">
        {saving ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Save className="size-3" aria-hidden />} Save
      </Button>
    </form>
  );
}

/** /models/:id — everything about one model: status, metadata, variants and its architecture. */
export function ModelDetailView({ id }: { id: string }) {
  const model = useModels((s) => s.models[id]);
  const fetchModel = useModels((s) => s.fetchModel);
  const epoch = useConnection((s) => s.epoch);
  const [missing, setMissing] = useState(false);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    const ctrl = new AbortController();
    fetchModel(id, ctrl.signal)
      .then((m) => {
        if (ctrl.signal.aborted) return;
        setMissing(m === null);
        setLoaded(true);
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setLoaded(true);
        reportError(e, "Could not load the model");
      });
    return () => ctrl.abort();
  }, [id, epoch, fetchModel]);

  if (!model) {
    return (
      <div className="mx-auto max-w-7xl space-y-3 p-6" data-testid="model-detail">
        <Link href="/models" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
          <ArrowLeft className="size-3.5" aria-hidden /> Models
        </Link>
        <p className="text-sm text-zinc-400" data-testid={missing ? "model-missing" : undefined}>
          {missing ? `No model with id ${id} (it may have been deleted).` : loaded ? "Could not load this model." : "Loading…"}
        </p>
      </div>
    );
  }

  const active = isActiveModelStatus(model.status);
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="model-detail" data-model-id={model.id} data-status={model.status}>
      <div>
        <Link href="/models" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200" data-testid="model-detail-back">
          <ArrowLeft className="size-3.5" aria-hidden /> Models
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <h1 className="text-lg font-semibold text-zinc-50" data-testid="model-detail-name">
            {model.name}
          </h1>
          <ModelStatusBadge status={model.status} data-testid="model-detail-status" />
          <span className="font-mono text-xs text-zinc-500">{modelSource(model)}</span>
          <span className="ml-auto flex gap-1.5">
            {active && <CancelDownloadButton model={model} />}
            {isRetryableModelStatus(model.status) && <RetryButton model={model} />}
            {!active && <DeleteModelButton model={model} onDeleted={() => navigate("/models")} />}
          </span>
        </div>
      </div>

      {active && (
        <Card title={model.status === "importing" ? "Import" : "Download"}>
          <ModelProgress model={model} />
        </Card>
      )}

      {model.status_message && !active && model.status !== "ready" && (
        <p
          className="flex gap-2 rounded border border-amber-900 bg-amber-950/40 px-3 py-2 text-sm text-amber-100"
          role={model.status === "error" ? "alert" : undefined}
          data-testid="model-detail-message"
        >
          <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
          {model.status_message}
        </p>
      )}

      <div className="grid items-start gap-4 lg:grid-cols-[minmax(300px,380px)_1fr]">
        <Card title="About" bodyClassName="space-y-4 p-3">
          <dl className="grid grid-cols-[7rem_1fr] gap-x-2 gap-y-1 text-xs" data-testid="model-detail-info">
            <Row label="Source">{model.source}</Row>
            {model.repo_id && <Row label="Repo">{model.repo_id}</Row>}
            {model.revision && <Row label="Revision">{model.revision}</Row>}
            {model.commit_sha && <Row label="Commit">{model.commit_sha.slice(0, 12)}</Row>}
            {model.source_path && <Row label="Path">{model.source_path}</Row>}
            <Row label="Storage">{model.storage_mode}</Row>
            <Row label="Family">{model.family ?? model.model_type ?? "—"}</Row>
            <Row label="Parameters">
              {formatCount(model.parameter_count)} <span className="text-zinc-500">({formatInteger(model.parameter_count)})</span>
            </Row>
            <Row label="Layers">{model.num_layers ?? "—"}</Row>
            <Row label="Hidden size">{model.hidden_size ?? "—"}</Row>
            <Row label="On disk">{formatBytes(model.size_bytes)}</Row>
            {model.download_bytes !== null && <Row label="Download">{formatBytes(model.download_bytes)}</Row>}
            <Row label="Licence">{model.license ?? "—"}</Row>
            <Row label="Gated">{model.gated ? "yes" : "no"}</Row>
            <Row label="Remote code">{model.trust_remote_code ? "trusted" : "off"}</Row>
            <Row label="Added">{formatTimestamp(model.created_at)}</Row>
            {model.job_id && (
              <Row label="Job">
                <Link href={`/jobs?job=${model.job_id}`} className="text-sky-300 hover:underline">
                  {model.job_id}
                </Link>
              </Row>
            )}
          </dl>
          <EditForm model={model} />
        </Card>
        <VariantsPanel model={model} />
      </div>

      {model.status === "ready" || model.status === "incompatible" ? (
        <ArchitectureViewer modelId={model.id} refreshKey={model.updated_at} />
      ) : (
        <Card title="Architecture">
          <p className="text-xs text-zinc-500">
            {active ? "The architecture appears once the files are here." : "No architecture: the model's files are not complete."}
          </p>
        </Card>
      )}
    </div>
  );
}

import { AlertTriangle } from "lucide-react";
import type { Model } from "../../api/types";
import { modelStatusLabel } from "../../api/types";
import { Card } from "../../components/Card";
import { DetailHeader, ItemPlaceholder, useItemFetch } from "../../components/DetailPage";
import { DetailList, DetailRow, JobDetailRow, RenameNotesForm } from "../../components/Details";
import { ReadyTabs } from "../../components/ReadyTabs";
import { formatBytes, formatCount, formatInteger, formatTimestamp } from "../../lib/format";
import { oneOf } from "../../lib/oneOf";
import { navigate, setQuery, useLocation } from "../../lib/router";
import { useModels } from "../../stores/models";
import { ArchitectureViewer } from "./ArchitectureViewer";
import { modelSource } from "./ModelCard";
import { DeleteModelButton, RetryButton } from "./ModelActions";
import { CancelDownloadButton, ModelProgress } from "./ModelProgress";
import { PlaygroundPanel } from "./PlaygroundPanel";
import { VariantsPanel } from "./VariantsPanel";
import { ExtractionPanel } from "../extraction/ExtractionPanel";
import { ModelSaesPanel } from "../training/SaeViews";

/** Rename and notes of the model. */
function EditForm({ model }: { model: Model }) {
  const update = useModels((s) => s.update);
  const saving = useModels((s) => s.pending[model.id] === "save");
  return (
    <RenameNotesForm
      item={model}
      saving={saving}
      onSave={(patch) => void update(model.id, patch)}
      notesPlaceholder="What you use it for, what you found…"
      testIdPrefix="model"
    />
  );
}

/** The Overview tab: about and rename, variants, architecture. */
function OverviewPanel({ model }: { model: Model }) {
  const active = model.active;
  return (
    <div role="tabpanel" className="space-y-4" data-testid="model-panel-overview">
      <div className="grid items-start gap-4 lg:grid-cols-[minmax(300px,380px)_1fr]">
        <Card title="About" bodyClassName="space-y-4 p-3">
          <DetailList testId="model-detail-info">
            <DetailRow label="Source">{model.source}</DetailRow>
            {model.repo_id && <DetailRow label="Repo">{model.repo_id}</DetailRow>}
            {model.revision && <DetailRow label="Revision">{model.revision}</DetailRow>}
            {model.commit_sha && <DetailRow label="Commit">{model.commit_sha.slice(0, 12)}</DetailRow>}
            {model.source_path && <DetailRow label="Path">{model.source_path}</DetailRow>}
            <DetailRow label="Storage">{model.storage_mode}</DetailRow>
            <DetailRow label="Family">{model.family ?? model.model_type ?? "—"}</DetailRow>
            <DetailRow label="Parameters">
              {formatCount(model.parameter_count)} <span className="text-zinc-500">({formatInteger(model.parameter_count)})</span>
            </DetailRow>
            <DetailRow label="Layers">{model.num_layers ?? "—"}</DetailRow>
            <DetailRow label="Hidden size">{model.hidden_size ?? "—"}</DetailRow>
            <DetailRow label="On disk">{formatBytes(model.size_bytes)}</DetailRow>
            {model.download_bytes !== null && <DetailRow label="Download">{formatBytes(model.download_bytes)}</DetailRow>}
            <DetailRow label="Licence">{model.license ?? "—"}</DetailRow>
            <DetailRow label="Gated">{model.gated ? "yes" : "no"}</DetailRow>
            <DetailRow label="Remote code">{model.trust_remote_code ? "trusted" : "off"}</DetailRow>
            <DetailRow label="Added">{formatTimestamp(model.created_at)}</DetailRow>
            <JobDetailRow jobId={model.job_id} />
          </DetailList>
          <EditForm model={model} />
        </Card>
        <VariantsPanel model={model} />
      </div>

      {model.status === "completed" ? ( // an incompatible model shows why it has no architecture
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

export const MODEL_TABS = ["overview", "extraction", "playground", "saes"] as const;
export type ModelTab = (typeof MODEL_TABS)[number];

/** /models/:id?tab=… — everything about one model: status, metadata, variants, architecture; and its extractions. */
export function ModelDetailView({ id }: { id: string }) {
  const model = useModels((s) => s.models[id]);
  const fetchModel = useModels((s) => s.fetchModel);
  const { missing, loaded } = useItemFetch(id, fetchModel, "Could not load the model");
  const { search } = useLocation();
  const tab: ModelTab = oneOf(MODEL_TABS, search.get("tab")) ?? "overview";

  if (!model) return <ItemPlaceholder noun="model" id={id} missing={missing} loaded={loaded} />;

  const active = model.active;
  // Why it cannot be used: files that cannot be loaded, or how its download or import stopped.
  const problem = model.incompatible_reason ?? (active ? null : model.message);
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="model-detail" data-model-id={model.id} data-status={model.status}>
      <DetailHeader
        noun="model"
        item={{ name: model.name, status: modelStatusLabel(model) }}
        source={modelSource(model)}
        actions={
          <>
            {active && <CancelDownloadButton model={model} />}
            {model.retryable && <RetryButton model={model} />}
            {!active && <DeleteModelButton model={model} onDeleted={() => navigate("/models")} />}
          </>
        }
      />

      {active && (
        <Card title={model.source === "hub" ? "Download" : "Import"}>
          <ModelProgress model={model} />
        </Card>
      )}

      {problem && (
        <p
          className="flex gap-2 rounded border border-amber-900 bg-amber-950/40 px-3 py-2 text-sm text-amber-100"
          role={model.status === "failed" ? "alert" : undefined}
          data-testid="model-detail-message"
        >
          <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
          {problem}
        </p>
      )}

      <ReadyTabs tabs={MODEL_TABS} tab={tab} ready={model.ready} noun="model" labels={{ saes: "SAEs" }}
        // Leaving the tab drops its query (the extraction shown), so a link to the page opens its overview.
        onSelect={(t) => setQuery({ tab: t === "overview" ? null : t, extraction: null }, { replace: true })} />

      {tab === "extraction" && model.ready ? (
        <div role="tabpanel" data-testid="model-panel-extraction">
          <ExtractionPanel model={model} />
        </div>
      ) : tab === "saes" && model.ready ? (
        <div role="tabpanel" data-testid="model-panel-saes">
          <ModelSaesPanel modelId={model.id} />
        </div>
      ) : tab === "playground" && model.ready ? (
        <div role="tabpanel" data-testid="model-panel-playground">
          <PlaygroundPanel model={model} />
        </div>
      ) : (
        <OverviewPanel model={model} />
      )}
    </div>
  );
}

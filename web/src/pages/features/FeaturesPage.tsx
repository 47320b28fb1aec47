/** The Features section: `/features` (the SAEs), `/features/saes/{id}` (analyse one, its analyses),
 * `/features/analyses/{id}` (the latent browser), `/features/analyses/{id}/latents/{n}` (one latent), `/features/analyses/{id}/map` (the map and heatmap). */
import { useEffect } from "react";
import { trainingApi } from "../../api/training";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { PageHeader } from "../../components/ListView";
import { Table } from "../../components/Table";
import { navigate, useLocation } from "../../lib/router";
import { startAnalysesLive } from "../../stores/features";
import { socket } from "../../stores/live";
import { MODEL_COLUMN } from "../training/SaeList";
import { SAE_COLUMNS, useLoad } from "../training/SaeViews";
import { FeatureBrowser } from "./FeatureBrowser";
import { FeatureDetailView } from "./FeatureDetailView";
import { FeatureMapPage } from "./FeatureMapPage";
import { SaeAnalyses } from "./SaeAnalyses";

const LIMIT = 200;
const COLUMNS = [SAE_COLUMNS[0]!, MODEL_COLUMN, ...SAE_COLUMNS.slice(1)];

function SaePicker() {
  const { value, error } = useLoad((signal) => trainingApi.listSaes({ limit: LIMIT }, signal), "");
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="features-page">
      <PageHeader
        title="Features"
        description="What an SAE's latents mean: analyse one over text, then browse its latents — the text that makes each fire, what it promotes, its neighbours — and label them."
      />
      <Card title={`SAEs (${value?.pagination.total ?? "…"})`}>
        {error && <FormError testId="features-saes-error">{error}</FormError>}
        <Table
          columns={COLUMNS}
          rows={value?.items ?? []}
          rowKey={(s) => s.id}
          caption="SAEs to analyse"
          onRowClick={(s) => navigate(`/features/saes/${s.id}`)}
          rowTestId={(s) => `features-sae-row-${s.id}`}
          empty={value ? "No SAE yet: train one in Training, or import one." : "Loading…"}
          data-testid="features-sae-table"
        />
      </Card>
    </div>
  );
}

export default function FeaturesPage() {
  const { pathname } = useLocation();
  // Live while the section is open: analyses' job updates and progress.
  useEffect(() => startAnalysesLive(socket), []);
  const rest = pathname.replace(/^\/features\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (rest[0] === "saes" && rest[1]) return <SaeAnalyses saeId={rest[1]} />;
  if (rest[0] === "analyses" && rest[1]) {
    if (rest[2] === "map") return <FeatureMapPage analysisId={rest[1]} />;
    const latent = rest[2] === "latents" && rest[3] !== undefined && /^\d+$/.test(rest[3]) ? Number(rest[3]) : null;
    return latent === null ? <FeatureBrowser analysisId={rest[1]} /> : <FeatureDetailView analysisId={rest[1]} latent={latent} />;
  }
  return <SaePicker />;
}

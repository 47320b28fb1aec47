/** /features/analyses/:id/map — the analysis' latents as a map of decoder directions, and a correlation heatmap of
 * latents the user picks (typed, or shift-clicked on the map). */
import { useState } from "react";
import { ArrowLeft } from "lucide-react";
import { featuresApi } from "../../api/features";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { Link } from "../../lib/router";
import { useLoad } from "../training/SaeViews";
import { CorrelationHeatmap } from "./CorrelationHeatmap";
import { analysisTitle } from "./describe";
import { FeatureMapPanel } from "./FeatureMapPanel";

export function FeatureMapPage({ analysisId }: { analysisId: string }) {
  const analysis = useLoad((signal) => featuresApi.get(analysisId, signal), analysisId);
  const [heatmapText, setHeatmapText] = useState("");
  const pick = (latent: number) =>
    setHeatmapText((text) => {
      const listed = text.split(/[\s,]+/).filter(Boolean);
      return listed.includes(String(latent)) ? text : [...listed, String(latent)].join(", ");
    });
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="feature-map-page">
      <Link href={`/features/analyses/${analysisId}`} className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
        <ArrowLeft className="size-3.5" aria-hidden /> {analysis.value ? analysisTitle(analysis.value) : "The analysis"}
      </Link>
      {analysis.error && <FormError testId="feature-map-page-error">{analysis.error}</FormError>}
      <Card title="Map of decoder directions">
        <FeatureMapPanel analysisId={analysisId} onPick={pick} />
      </Card>
      <Card title="Correlation heatmap">
        <CorrelationHeatmap analysisId={analysisId} width={analysis.value?.width ?? null} text={heatmapText} onText={setHeatmapText} />
      </Card>
    </div>
  );
}

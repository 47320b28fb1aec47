/** /features/analyses/:id/latents/:latent — one latent: its examples highlighted, histogram, logit lens, relatives, label. */
import { useState } from "react";
import { ArrowLeft, ChevronLeft, ChevronRight, Sliders, Star } from "lucide-react";
import { featuresApi, type Analysis, type FeatureDetail, type FeatureExample, type FeatureUpdate } from "../../api/features";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Link } from "../../lib/router";
import { reportError } from "../../stores/toasts";
import { useLoad } from "../training/SaeViews";
import { ActivationHistogram } from "./ActivationHistogram";
import { ExampleTokens, formatActivation, windowOf } from "./ExampleTokens";
import { FeatureStatistics, latentHref, LogitLens, RelatedLatents } from "./FeatureEvidence";
import { analysisTitle } from "./describe";
import { LabelEditor } from "./LabelEditor";
import { ProbePanel } from "./ProbePanel";

/** Where "Steer with this feature" goes: the Steering section with the model, SAE and latent chosen. */
export function steerHref(analysis: Pick<Analysis, "model_id" | "sae_id">, latent: number): string {
  const q = new URLSearchParams({ model: analysis.model_id, sae: analysis.sae_id, feature: String(latent) });
  return `/steering?${q.toString()}`;
}

function Examples({ title, examples, scale, testId }: { title: string; examples: FeatureExample[]; scale: number; testId: string }) {
  return (
    <Card title={`${title} (${examples.length})`} data-testid={testId}>
      {examples.length === 0 ? (
        <p className="text-xs text-zinc-500">None kept.</p>
      ) : (
        <ol className="divide-y divide-zinc-800">
          {examples.map((ex, i) => (
            <li key={`${ex.kind}-${ex.rank}-${ex.interval}-${i}`} className="flex items-start gap-3 py-1">
              <span className="w-20 shrink-0 pt-1 text-right font-mono text-[11px] text-amber-300" title={`sequence ${ex.sequence}, position ${ex.position}`}>
                {formatActivation(ex.activation)}
              </span>
              <ExampleTokens example={windowOf(ex)} scale={scale} testId={`${testId}-${i}`} />
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

export function FeatureDetailView({ analysisId, latent }: { analysisId: string; latent: number }) {
  const [version, setVersion] = useState(0);
  const analysis = useLoad((signal) => featuresApi.get(analysisId, signal), analysisId);
  const loaded = useLoad((signal) => featuresApi.feature(analysisId, latent, signal), `${analysisId}:${latent}:${version}`);
  const feature: FeatureDetail | null = loaded.value?.latent === latent ? loaded.value : null;
  const save = async (patch: FeatureUpdate) => {
    await featuresApi.update(analysisId, latent, patch);
    setVersion((v) => v + 1);
  };
  const toggleFavourite = () => feature && save({ favourite: !feature.favourite }).catch((e) => reportError(e, "Could not save the favourite"));
  const width = analysis.value?.width;
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="feature-detail" data-latent={latent}>
      <div>
        <Link href={`/features/analyses/${analysisId}`} className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
          <ArrowLeft className="size-3.5" aria-hidden /> {analysis.value ? analysisTitle(analysis.value) : "The analysis"}
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <h1 className="text-lg font-semibold text-zinc-50" data-testid="feature-detail-title">
            Latent #{latent}
            {feature?.label && <span className="ml-2 font-normal text-zinc-300">{feature.label}</span>}
          </h1>
          {feature?.label_kind && <span className="rounded border border-zinc-700 px-1.5 text-[11px] text-zinc-400">{feature.label_kind}</span>}
          <span className="ml-auto flex items-center gap-1">
            <Link href={latentHref(analysisId, latent - 1)} aria-label="Previous latent" className={latent > 0 ? "text-zinc-400 hover:text-zinc-100" : "pointer-events-none text-zinc-700"}>
              <ChevronLeft className="size-4" aria-hidden />
            </Link>
            <Link href={latentHref(analysisId, latent + 1)} aria-label="Next latent" className={width === undefined || latent + 1 < width ? "text-zinc-400 hover:text-zinc-100" : "pointer-events-none text-zinc-700"}>
              <ChevronRight className="size-4" aria-hidden />
            </Link>
            {feature && (
              <Button size="sm" onClick={() => void toggleFavourite()} aria-pressed={feature.favourite} data-testid="feature-favourite">
                <Star className={feature.favourite ? "size-3 fill-amber-300 text-amber-300" : "size-3"} aria-hidden /> {feature.favourite ? "Favourite" : "Add to favourites"}
              </Button>
            )}
            {analysis.value && (
              <Link href={steerHref(analysis.value, latent)} className="inline-flex h-6 items-center gap-1 rounded border border-sky-500 bg-sky-600 px-2 text-xs font-medium text-white hover:bg-sky-500" data-testid="feature-steer-link">
                <Sliders className="size-3" aria-hidden /> Steer with this feature
              </Link>
            )}
          </span>
        </div>
      </div>
      {!feature ? (
        <p className="text-sm text-zinc-400" data-testid="feature-detail-status">
          {loaded.error ?? "Loading…"}
        </p>
      ) : (
        <>
          <div className="grid items-start gap-4 lg:grid-cols-3">
            <Card title="Statistics">
              <FeatureStatistics feature={feature} />
            </Card>
            <Card title="Activation histogram" bodyClassName="p-2">
              <ActivationHistogram histogram={feature.histogram} />
            </Card>
            <Card title="Label and notes">
              <LabelEditor feature={feature} onSave={save} />
            </Card>
          </div>
          <div className="grid items-start gap-4 lg:grid-cols-2">
            <Card title="Logit lens">
              <LogitLens feature={feature} />
            </Card>
            <Card title="Related latents">
              <RelatedLatents feature={feature} analysisId={analysisId} />
            </Card>
          </div>
          <Card title="Your own text">
            <ProbePanel analysisId={analysisId} latent={latent} scale={feature.max_activation} />
          </Card>
          <Examples title="Top examples" examples={feature.examples.filter((e) => e.kind === "top")} scale={feature.max_activation} testId="feature-top-examples" />
          <Examples
            title={`Interval examples (${feature.interval_kind})`}
            examples={feature.examples.filter((e) => e.kind === "interval")}
            scale={feature.max_activation}
            testId="feature-interval-examples"
          />
        </>
      )}
    </div>
  );
}

/** The map of an analysis' decoder directions: pick a method, compute it as a job (live progress, cancel), then see
 * the latents as a scatter coloured by frequency, label score or labelled. */
import { useEffect, useMemo, useState } from "react";
import { Loader2, Map as MapIcon } from "lucide-react";
import { isApiError, messageOf } from "../../api/client";
import { featureMapsApi, MAP_METHODS, type FeatureMap, type MapMethod, type MapRequest } from "../../api/featureMaps";
import { Button } from "../../components/Button";
import { CancelJobButton } from "../../components/CancelJobButton";
import { FormError } from "../../components/FormError";
import { ProgressBar } from "../../components/ProgressBar";
import { StatusBadge } from "../../components/StatusBadge";
import { navigate } from "../../lib/router";
import { useJob } from "../../stores/jobs";
import { Segmented, TextField } from "../training/FormControls";
import { latentHref } from "./FeatureEvidence";
import { MapCanvas } from "./MapCanvas";
import { COLOUR_BY, pointColours, type ColourBy } from "./mapPoints";

const DEFAULTS = { n_neighbors: "15", min_dist: "0.1", perplexity: "30" };

/** The request for `method` from the typed parameters, or the first of its fields that is not a valid number (the
 * other method's fields are sent at their defaults and unused). */
function mapRequest(method: MapMethod, params: typeof DEFAULTS): { body: MapRequest } | { error: string } {
  const [n, d, p] = [Number(params.n_neighbors), Number(params.min_dist), Number(params.perplexity)];
  if (method === "umap" && !(Number.isInteger(n) && n >= 2)) return { error: "n_neighbors must be a whole number of at least 2." };
  if (method === "umap" && !(d >= 0 && d <= 1)) return { error: "min_dist must be from 0 to 1." };
  if (method === "tsne" && !(p >= 1)) return { error: "perplexity must be a number of at least 1." };
  const umap = method === "umap";
  return {
    body: { method, n_neighbors: umap ? n : 15, min_dist: umap ? d : 0.1, perplexity: method === "tsne" ? p : 30, seed: 0 },
  };
}

export function FeatureMapPanel({ analysisId, onPick }: { analysisId: string; onPick: (latent: number) => void }) {
  const [method, setMethod] = useState<MapMethod>("pca");
  const [params, setParams] = useState(DEFAULTS);
  const [colourBy, setColourBy] = useState<ColourBy>("frequency");
  const [map, setMap] = useState<FeatureMap | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const job = useJob(jobId);
  const jobDone = job !== undefined && !job.active ? job.status : null;

  // The stored map of the chosen method; again whenever a job of ours finishes.
  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    featureMapsApi
      .get(analysisId, method, ctrl.signal)
      .then((found) => {
        setMap(found);
        setMissing(false);
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setMap(null);
        if (isApiError(e) && e.status === 404) setMissing(true);
        else setError(messageOf(e));
      });
    return () => ctrl.abort();
  }, [analysisId, method, jobDone]);

  const colours = useMemo(() => (map ? pointColours(map, colourBy) : []), [map, colourBy]);
  const request = mapRequest(method, params);
  const compute = async () => {
    if ("error" in request) return;
    setStarting(true);
    setError(null);
    try {
      setJobId((await featureMapsApi.start(analysisId, request.body)).job_id);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setStarting(false);
    }
  };
  const field = (name: keyof typeof DEFAULTS, label: string, hint: string) => (
    <TextField label={label} value={params[name]} onChange={(v) => setParams((p) => ({ ...p, [name]: v }))} hint={hint} testId={`map-${name}`} className="w-36" />
  );
  return (
    <div className="space-y-3" data-testid="feature-map">
      <div className="flex flex-wrap items-end gap-3">
        <div className="space-y-1 text-xs text-zinc-400">
          <div>Method</div>
          <Segmented label="Map method" value={method} options={MAP_METHODS} onChange={setMethod} testId="map-method" />
        </div>
        {method === "umap" && (
          <>
            {field("n_neighbors", "n_neighbors", "neighbourhood size")}
            {field("min_dist", "min_dist", "0 to 1")}
          </>
        )}
        {method === "tsne" && field("perplexity", "perplexity", "≤ (latents − 1) / 3")}
        <Button variant="primary" onClick={() => void compute()} disabled={starting || "error" in request || job?.active === true} data-testid="map-compute">
          {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <MapIcon className="size-3.5" aria-hidden />} {map ? "Compute again" : "Compute"}
        </Button>
        {job && (
          <div className="flex min-w-0 flex-1 items-center gap-2 text-xs text-zinc-400" data-testid="map-job">
            <StatusBadge status={job.status} />
            {job.active && <ProgressBar value={job.progress} className="w-40" />}
            <span className="min-w-0 truncate">{job.error ?? job.message ?? ""}</span>
            {job.active && <CancelJobButton job={job} testId="map-job-cancel" />}
          </div>
        )}
      </div>
      {"error" in request && <FormError testId="map-params-error">{request.error}</FormError>}
      {error && <FormError testId="map-error">{error}</FormError>}
      {missing && !map && (
        <p className="text-xs text-zinc-500" data-testid="map-missing">
          No {MAP_METHODS.find((m) => m.value === method)?.label} map yet: compute it (PCA takes seconds; UMAP and t-SNE can take minutes at many latents).
        </p>
      )}
      {map && (
        <>
          <div className="flex items-center gap-2 text-xs text-zinc-400">
            Colour by <Segmented label="Colour by" value={colourBy} options={COLOUR_BY} onChange={setColourBy} testId="map-colour-by" />
            <span className="text-zinc-500" data-testid="map-params-used">
              {Object.keys(map.params).length ? `computed with ${Object.entries(map.params).map(([k, v]) => `${k} ${v}`).join(", ")} · ` : ""}
            </span>
            <span className="text-zinc-500">{colourBy === "label" ? "one hue per label text" : colourBy === "labelled" ? "amber: labelled" : "blue → amber: low → high"}; grey: dead or none</span>
          </div>
          <MapCanvas map={map} colours={colours} onOpen={(latent) => navigate(latentHref(analysisId, latent))} onPick={onPick} />
        </>
      )}
    </div>
  );
}

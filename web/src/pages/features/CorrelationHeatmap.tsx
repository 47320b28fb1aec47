/** The correlation heatmap of chosen latents, from the analysis' stored top correlations: red positive, blue
 * negative, grey where the analysis kept no value for the pair (it stores each latent's strongest few only). */
import { useEffect, useState } from "react";
import { messageOf } from "../../api/client";
import { featureMapsApi, MAX_HEATMAP_LATENTS, type Correlations } from "../../api/featureMaps";
import { FormError } from "../../components/FormError";
import { Link } from "../../lib/router";
import { TextField } from "../training/FormControls";
import { latentHref } from "./FeatureEvidence";
import { correlationColour, parseLatentList } from "./mapPoints";

export function CorrelationHeatmap({ analysisId, width, text, onText }: { analysisId: string; width: number | null; text: string; onText: (text: string) => void }) {
  const [found, setFound] = useState<Correlations | null>(null);
  const [error, setError] = useState<string | null>(null);
  const parsed = parseLatentList(text, width, MAX_HEATMAP_LATENTS);
  const key = "latents" in parsed ? parsed.latents.join(",") : "";

  useEffect(() => {
    if (!key) return;
    const ctrl = new AbortController();
    featureMapsApi
      .correlations(analysisId, key.split(",").map(Number), ctrl.signal)
      .then((value) => {
        setFound(value);
        setError(null);
      })
      .catch((e) => !ctrl.signal.aborted && setError(messageOf(e)));
    return () => ctrl.abort();
  }, [analysisId, key]);

  return (
    <div className="space-y-3" data-testid="correlation-heatmap">
      <TextField
        label="Latents"
        value={text}
        onChange={onText}
        error={text.trim() && "error" in parsed ? parsed.error : undefined}
        hint={`up to ${MAX_HEATMAP_LATENTS}, e.g. 1, 5, 9 (shift-click points on the map to add them)`}
        testId="heatmap-latents"
      />
      {error && <FormError testId="heatmap-error">{error}</FormError>}
      {found && key && (
        <>
          <div className="overflow-auto">
            <table className="border-collapse text-[10px]" data-testid="heatmap-table">
              <thead>
                <tr>
                  <th />
                  {found.latents.map((l) => (
                    <th key={l} scope="col" className="px-0.5 font-mono font-normal text-zinc-400">
                      {l}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {found.latents.map((row, a) => (
                  <tr key={row}>
                    <th scope="row" className="pr-1 text-right font-mono font-normal text-zinc-400">
                      <Link href={latentHref(analysisId, row)} className="hover:text-zinc-100">
                        {row}
                      </Link>
                    </th>
                    {found.matrix[a]!.map((value, b) => (
                      <td
                        key={b}
                        className="size-6 border border-zinc-900 text-center text-zinc-100"
                        style={{ background: correlationColour(value ?? null) }}
                        title={`latents ${row} and ${found.latents[b]}: ${value === null || value === undefined ? "not stored" : value.toFixed(3)}`}
                        data-testid={`heatmap-cell-${a}-${b}`}
                      >
                        {found.latents.length <= 16 && value !== null && value !== undefined ? value.toFixed(2) : ""}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="text-xs text-zinc-500">
            {found.kept_per_latent === 0
              ? "This analysis computed no correlations (it was run with correlations 0): only the diagonal is known."
              : `The analysis kept each latent's ${found.kept_per_latent} most correlated latents; grey cells are pairs it did not keep (weaker, or never measured).`}
          </p>
        </>
      )}
    </div>
  );
}

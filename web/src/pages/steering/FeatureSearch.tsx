import { useEffect, useState } from "react";
import { Plus } from "lucide-react";
import { featuresApi, type Feature } from "../../api/features";
import { messageOf } from "../../api/client";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { formatFigure } from "./figures";

type FeatureHit = Feature;

/** Search the analysis' features by label or by token (debounced) and add one; its max activation comes along for scaling. */
export function FeatureSearch({ analysisId, onAdd }: { analysisId: string; onAdd: (hit: FeatureHit) => void }) {
  const [query, setQuery] = useState("");
  const [by, setBy] = useState<"search" | "token">("search");
  const [hits, setHits] = useState<FeatureHit[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const text = query.trim();
    if (!text) {
      setHits([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      featuresApi.features(analysisId, { [by]: text, limit: 20 }, controller.signal)
        .then((page) => {
          setHits(page.items);
          setError(null);
        })
        .catch((e) => {
          if (!controller.signal.aborted) setError(messageOf(e));
        });
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [analysisId, query, by]);

  return (
    <div className="space-y-1">
      <div className="flex gap-2">
        <select className={`${inputClass} w-auto`} value={by} onChange={(e) => setBy(e.target.value as "search" | "token")}
          aria-label="Search features by">
          <option value="search">label</option>
          <option value="token">token</option>
        </select>
        <input className={inputClass} value={query} onChange={(e) => setQuery(e.target.value)}
          placeholder={by === "search" ? "Search features by label…" : "Features that peak on or promote a token…"}
          aria-label="Search features" data-testid="feature-search" />
      </div>
      {error && <FormError testId="feature-search-error">{error}</FormError>}
      {query.trim() && hits.length === 0 && !error && <p className="text-[11px] text-zinc-500">No feature matches.</p>}
      {hits.length > 0 && (
        <ul className="max-h-40 overflow-y-auto rounded border border-zinc-800" data-testid="feature-search-results">
          {hits.map((hit) => (
            <li key={hit.latent} className="flex items-center justify-between gap-2 border-b border-zinc-800/70 px-2 py-1 text-xs last:border-0">
              <span className="truncate"><span className="font-mono text-zinc-400">#{hit.latent}</span> {hit.label ?? "(no label)"}
                <span className="text-zinc-500"> · max {formatFigure(hit.max_activation)}</span></span>
              <Button size="sm" onClick={() => onAdd(hit)} aria-label={`Add feature ${hit.latent}`}><Plus className="size-3" aria-hidden />Add</Button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** /features/analyses/:id — the latents an analysis found: searched, sorted and filtered by the server, a page at a time. */
import { useState } from "react";
import { ArrowLeft, Download, Map as MapIcon, Star } from "lucide-react";
import { EXPORT_FORMATS, exportHref, featuresApi, type Feature } from "../../api/features";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { Pager } from "../../components/ListView";
import { StatusBadge } from "../../components/StatusBadge";
import { Table, type Column } from "../../components/Table";
import { formatInteger, formatPercent } from "../../lib/format";
import { Link, navigate, useLocation } from "../../lib/router";
import { reportError } from "../../stores/toasts";
import { useLoad } from "../training/SaeViews";
import { BrowserFilters } from "./BrowserFilters";
import { analysisTitle } from "./describe";
import { browserErrors, readBrowserState, toFeatureQuery, BROWSER_PAGE_SIZE } from "./browserQuery";
import { formatActivation } from "./ExampleTokens";
import { latentHref } from "./FeatureEvidence";
import { LabelJobPanel } from "./LabelJobPanel";

function columns(onFavourite: (f: Feature) => void): Column<Feature>[] {
  return [
    {
      key: "fav",
      header: <span className="sr-only">Favourite</span>,
      render: (f) => (
        <button
          type="button"
          aria-label={f.favourite ? `Remove latent ${f.latent} from favourites` : `Add latent ${f.latent} to favourites`}
          aria-pressed={f.favourite}
          onClick={(e) => {
            e.stopPropagation(); // the row opens the latent; the star only toggles
            onFavourite(f);
          }}
          className="text-zinc-500 hover:text-amber-300"
          data-testid={`feature-fav-${f.latent}`}
        >
          <Star className={f.favourite ? "size-3.5 fill-amber-300 text-amber-300" : "size-3.5"} aria-hidden />
        </button>
      ),
    },
    { key: "latent", header: "Index", className: "text-right", render: (f) => <span className="font-mono text-zinc-100">{f.latent}</span> },
    {
      key: "label",
      header: "Label",
      render: (f) => (
        <span className="block max-w-96 truncate" title={f.label ?? undefined}>
          {f.label ? <span className="text-zinc-100">{f.label}</span> : <span className="text-zinc-600">—</span>}
          {f.label_kind && <span className="ml-1.5 text-[10px] text-zinc-500">{f.label_kind}</span>}
        </span>
      ),
    },
    {
      key: "frequency",
      header: "Frequency",
      className: "text-right",
      render: (f) => <span className={f.dead ? "font-mono text-red-300" : "font-mono text-zinc-300"}>{f.dead ? "dead" : formatPercent(f.frequency)}</span>,
    },
    { key: "max", header: "Max act.", className: "text-right", render: (f) => <span className="font-mono text-zinc-300">{formatActivation(f.max_activation)}</span> },
    { key: "mean", header: "Mean act.", className: "text-right", render: (f) => <span className="font-mono text-zinc-400">{formatActivation(f.mean_activation)}</span> },
    { key: "score", header: "Score", className: "text-right", render: (f) => <span className="font-mono text-zinc-400">{f.label_score === null ? "—" : f.label_score.toFixed(2)}</span> },
    { key: "notes", header: "Notes", render: (f) => <span className="block max-w-48 truncate text-zinc-500">{f.notes ?? ""}</span> },
  ];
}

export function FeatureBrowser({ analysisId }: { analysisId: string }) {
  const { search } = useLocation();
  const state = readBrowserState(search);
  const valid = Object.keys(browserErrors(state)).length === 0;
  const [version, setVersion] = useState(0);
  const analysis = useLoad((signal) => featuresApi.get(analysisId, signal), analysisId);
  const query = toFeatureQuery(state);
  const key = `${analysisId}:${JSON.stringify(query)}:${version}`;
  const list = useLoad((signal) => (valid ? featuresApi.features(analysisId, query, signal) : Promise.reject(new Error("Fix the filters first."))), key);
  const a = analysis.value;
  const toggleFavourite = (f: Feature) =>
    featuresApi
      .update(analysisId, f.latent, { favourite: !f.favourite })
      .then(() => setVersion((v) => v + 1))
      .catch((e) => reportError(e, "Could not save the favourite"));
  const total = list.value?.pagination.total;
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="feature-browser" data-analysis-id={analysisId}>
      <div>
        <Link href={a ? `/features/saes/${a.sae_id}` : "/features"} className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
          <ArrowLeft className="size-3.5" aria-hidden /> {a ? a.sae_name : "Features"}
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <h1 className="text-lg font-semibold text-zinc-50">{a ? analysisTitle(a) : "Analysis"}</h1>
          {a && <StatusBadge status={a.status} data-testid="feature-browser-status" />}
          {a && (
            <span className="text-xs text-zinc-400">
              {formatInteger(a.width)} latents · {formatInteger(a.tokens)} tokens of {a.source === "holdout" ? "the training's hold-out" : "a tokenization"}
              {a.dead_count !== null && ` · ${formatInteger(a.dead_count)} dead`} · {a.model_name}
            </span>
          )}
        </div>
        {a?.ready && (
          <p className="mt-1 flex items-center gap-2 text-xs text-zinc-400" data-testid="feature-export">
            <Download className="size-3.5" aria-hidden /> Export:
            {EXPORT_FORMATS.map(({ format, label }) => (
              <a key={format} href={exportHref(analysisId, format)} download className="text-sky-300 hover:underline" data-testid={`feature-export-${format}`}>
                {label}
              </a>
            ))}
            <span className="text-zinc-600">·</span>
            <Link href={`/features/analyses/${analysisId}/map`} className="inline-flex items-center gap-1 text-sky-300 hover:underline" data-testid="feature-map-link">
              <MapIcon className="size-3.5" aria-hidden /> Map and correlation heatmap
            </Link>
          </p>
        )}
        {a && !a.ready && <p className="mt-1 text-xs text-amber-300">The analysis is {a.status}: its latents can be browsed once it completes.</p>}
      </div>
      {a?.ready && (
        <details className="rounded-md border border-zinc-800 bg-zinc-900/60" data-testid="label-job-panel">
          <summary className="cursor-pointer px-3 py-2 text-xs font-semibold tracking-wide text-zinc-300 uppercase">Label and score latents with an LLM</summary>
          <div className="border-t border-zinc-800 p-3">
            <LabelJobPanel analysisId={analysisId} onFinished={() => setVersion((v) => v + 1)} />
          </div>
        </details>
      )}
      <Card title={`Latents (${total === undefined ? "…" : formatInteger(total)})`}>
        <div className="space-y-3">
          <BrowserFilters state={state} />
          {list.error && valid && <FormError testId="feature-browser-error">{list.error}</FormError>}
          <Table
            columns={columns((f) => void toggleFavourite(f))}
            rows={list.value?.items ?? []}
            rowKey={(f) => String(f.latent)}
            caption="Latents of the analysis"
            onRowClick={(f) => navigate(latentHref(analysisId, f.latent))}
            rowTestId={(f) => `feature-row-${f.latent}`}
            empty={list.value ? "No latent matches: loosen the search or the filters." : "Loading…"}
            data-testid="feature-table"
          />
          <Pager page={state.page} pages={total === undefined ? 1 : Math.ceil(total / BROWSER_PAGE_SIZE)} />
        </div>
      </Card>
    </div>
  );
}

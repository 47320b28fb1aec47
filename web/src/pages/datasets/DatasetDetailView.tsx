import { lazy, Suspense } from "react";
import { AlertTriangle } from "lucide-react";
import { Card } from "../../components/Card";
import { ReadyTabs } from "../../components/ReadyTabs";
import { DetailHeader, ItemPlaceholder, useItemFetch } from "../../components/DetailPage";
import { formatBytes, formatInteger } from "../../lib/format";
import { oneOf } from "../../lib/oneOf";
import { navigate, setQuery, useLocation } from "../../lib/router";
import { useDatasets } from "../../stores/datasets";
import { DeleteDatasetButton, RetryDatasetButton } from "./DatasetActions";
import { CancelDatasetButton, DatasetProgress } from "./DatasetProgress";
import { datasetSource } from "./describe";
import { OverviewTab } from "./OverviewTab";
import { SamplesTab } from "./SamplesTab";
import { TokenizationTab } from "./TokenizationTab";

// The charts (recharts) load with the Statistics tab only.
const StatisticsTab = lazy(() => import("./StatisticsTab").then((m) => ({ default: m.StatisticsTab })));

export const DATASET_TABS = ["overview", "samples", "tokenization", "statistics"] as const;
export type DatasetTab = (typeof DATASET_TABS)[number];

/** /datasets/:id?tab=… — one dataset: overview, samples, tokenization and statistics. */
export function DatasetDetailView({ id }: { id: string }) {
  const dataset = useDatasets((s) => s.datasets[id]);
  const fetchDataset = useDatasets((s) => s.fetchDataset);
  const { search } = useLocation();
  const tabParam = search.get("tab");
  const tab: DatasetTab = oneOf(DATASET_TABS, tabParam) ?? "overview";
  const { missing, loaded } = useItemFetch(id, fetchDataset, "Could not load the dataset");

  if (!dataset) return <ItemPlaceholder noun="dataset" id={id} missing={missing} loaded={loaded} />;

  const { active, ready } = dataset;
  const splits = Object.keys(dataset.splits);
  const readyTokenizations = dataset.tokenizations.filter((t) => t.ready).length;
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="dataset-detail" data-dataset-id={dataset.id} data-status={dataset.status}>
      <DetailHeader
        noun="dataset"
        item={dataset}
        source={datasetSource(dataset)}
        actions={
          <>
            {active && <CancelDatasetButton dataset={dataset} />}
            {dataset.retryable && <RetryDatasetButton dataset={dataset} />}
            {!active && <DeleteDatasetButton dataset={dataset} onDeleted={() => navigate("/datasets")} />}
          </>
        }
      >
        {ready && (
          <p className="mt-0.5 font-mono text-xs text-zinc-400" data-testid="dataset-detail-summary">
            {formatInteger(dataset.num_rows)} rows in {splits.length} split{splits.length === 1 ? "" : "s"} · {formatBytes(dataset.total_bytes)} on disk
            {dataset.tokenizations.length > 0 && ` · ${readyTokenizations} of ${dataset.tokenizations.length} tokenizations ready`}
          </p>
        )}
      </DetailHeader>

      {active && (
        <Card title={dataset.source === "hub" ? "Download" : "Import"}>
          <DatasetProgress dataset={dataset} />
        </Card>
      )}

      {dataset.message && !active && !ready && (
        <p
          className="flex gap-2 rounded border border-amber-900 bg-amber-950/40 px-3 py-2 text-sm break-words text-amber-100"
          role={dataset.status === "failed" ? "alert" : undefined}
          data-testid="dataset-detail-message"
        >
          <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
          {dataset.message}
        </p>
      )}

      <ReadyTabs tabs={DATASET_TABS} tab={tab} ready={ready} noun="dataset"
        onSelect={(t) => setQuery({ tab: t === "overview" ? null : t }, { replace: true })} />

      <div role="tabpanel" data-testid={`dataset-panel-${tab}`}>
        {tab === "overview" || !ready ? (
          <OverviewTab dataset={dataset} />
        ) : tab === "samples" ? (
          <SamplesTab dataset={dataset} />
        ) : tab === "tokenization" ? (
          <TokenizationTab dataset={dataset} />
        ) : (
          <Suspense fallback={<p className="text-xs text-zinc-500">Loading the charts…</p>}>
            <StatisticsTab dataset={dataset} />
          </Suspense>
        )}
      </div>
    </div>
  );
}

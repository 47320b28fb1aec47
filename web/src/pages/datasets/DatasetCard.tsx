import type { ReactNode } from "react";
import { AlertTriangle, FileText } from "lucide-react";
import type { Dataset } from "../../api/datasets";
import { StatusBadge } from "../../components/StatusBadge";
import { cn } from "../../lib/cn";
import { formatBytes, formatCount, formatInteger } from "../../lib/format";
import { Link } from "../../lib/router";
import { DeleteDatasetButton, RetryDatasetButton } from "./DatasetActions";
import { CancelDatasetButton, DatasetProgress } from "./DatasetProgress";
import { datasetSource } from "./describe";

function Stat({ label, children, title }: { label: string; children: ReactNode; title?: string }) {
  return (
    <div className="min-w-0" title={title}>
      <dt className="text-[10px] tracking-wide text-zinc-500 uppercase">{label}</dt>
      <dd className="truncate font-mono text-xs text-zinc-200">{children}</dd>
    </div>
  );
}

/** One dataset in the list: what it is, where it stands, and what can be done with it. */
export function DatasetCard({ dataset }: { dataset: Dataset }) {
  const active = dataset.active;
  const problem = active || dataset.ready ? null : dataset.message; // how its download or import stopped
  const splits = Object.keys(dataset.splits);
  const ready = dataset.tokenizations.filter((t) => t.ready).length;
  return (
    <article
      className="flex flex-col gap-2 rounded-md border border-zinc-800 bg-zinc-900/60 p-3"
      data-testid={`dataset-card-${dataset.id}`}
      data-dataset-id={dataset.id}
      data-status={dataset.status}
      aria-label={`Dataset ${dataset.name}`}
    >
      <header className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <h3 className="truncate text-sm font-semibold text-zinc-100">
            <Link href={`/datasets/${dataset.id}`} className="hover:underline" data-testid={`dataset-name-${dataset.id}`}>
              {dataset.name}
            </Link>
          </h3>
          <p className="truncate font-mono text-[11px] text-zinc-500" title={datasetSource(dataset)}>
            {datasetSource(dataset)}
          </p>
        </div>
        <StatusBadge status={dataset.status} data-testid={`dataset-status-${dataset.id}`} />
      </header>

      <dl className="grid grid-cols-4 gap-2">
        <Stat label="Rows" title={formatInteger(dataset.num_rows)}>
          <span data-testid={`dataset-rows-${dataset.id}`}>{dataset.ready ? formatCount(dataset.num_rows) : "—"}</span>
        </Stat>
        <Stat label="Splits" title={splits.join(", ")}>
          {splits.length ? splits.join(", ") : "—"}
        </Stat>
        <Stat label="On disk">{dataset.ready ? formatBytes(dataset.total_bytes) : "—"}</Stat>
        <Stat label="Tokenized">{dataset.tokenizations.length ? `${ready}/${dataset.tokenizations.length}` : "—"}</Stat>
      </dl>

      {active && <DatasetProgress dataset={dataset} />}

      {problem && (
        <p
          className={cn(
            "flex gap-1.5 rounded px-2 py-1 text-xs break-words",
            dataset.status === "failed" ? "bg-red-950/50 text-red-200" : "bg-amber-950/40 text-amber-200",
          )}
          role={dataset.status === "failed" ? "alert" : undefined}
          data-testid={`dataset-message-${dataset.id}`}
        >
          <AlertTriangle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
          <span className="min-w-0">{problem}</span>
        </p>
      )}

      <footer className="mt-auto flex flex-wrap items-center gap-1.5 pt-1">
        <Link
          href={`/datasets/${dataset.id}`}
          data-testid={`dataset-open-${dataset.id}`}
          className="inline-flex h-6 items-center gap-1 rounded border border-zinc-700 bg-zinc-800 px-2 text-xs font-medium text-zinc-100 hover:bg-zinc-700"
        >
          <FileText className="size-3" aria-hidden /> {dataset.ready ? "Open" : "Details"}
        </Link>
        {active && <CancelDatasetButton dataset={dataset} />}
        {dataset.retryable && <RetryDatasetButton dataset={dataset} />}
        <span className="ml-auto" />
        {!active && <DeleteDatasetButton dataset={dataset} label={false} />}
      </footer>
    </article>
  );
}

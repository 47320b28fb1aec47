import type { Extraction } from "../../api/extraction";
import { Card } from "../../components/Card";
import { StatusBadge } from "../../components/StatusBadge";
import { Table, type Column } from "../../components/Table";
import { formatBytes, formatDuration, formatInteger, formatTimestamp } from "../../lib/format";
import { ExtractionActions, ExtractionProgress } from "./ExtractionProgress";
import { describeLayers } from "./layers";

const COLUMNS: Column<Extraction>[] = [
  {
    key: "name",
    header: "Name",
    render: (e) => (
      <span className="block max-w-72 truncate font-mono text-zinc-100" title={e.name}>
        {e.name}
      </span>
    ),
  },
  {
    key: "status",
    header: "Status",
    render: (e) =>
      e.active ? (
        <div className="flex min-w-56 items-center gap-2">
          <StatusBadge status={e.status} data-testid={`extraction-status-${e.id}`} />
          <div className="flex-1">
            <ExtractionProgress extraction={e} />
          </div>
        </div>
      ) : (
        <StatusBadge status={e.status} data-testid={`extraction-status-${e.id}`} />
      ),
  },
  {
    key: "points",
    header: "Layers / hooks",
    render: (e) => (
      <span className="font-mono text-zinc-300">
        {describeLayers(e.layers)} · {e.hook_types.join("+")}
      </span>
    ),
  },
  {
    key: "samples",
    header: "Samples",
    className: "text-right",
    render: (e) => (
      <span className="font-mono text-zinc-200">
        {e.ready ? formatInteger(e.samples_done) : `${formatInteger(e.samples_done)} / ${formatInteger(e.num_samples)}`}
      </span>
    ),
  },
  {
    key: "size",
    header: "Size",
    className: "text-right",
    render: (e) => <span className="font-mono text-zinc-400">{e.size_bytes ? formatBytes(e.size_bytes) : `≈ ${formatBytes(e.estimate_bytes)}`}</span>,
  },
  {
    key: "time",
    header: "Time",
    className: "text-right",
    render: (e) => <span className="font-mono text-zinc-400">{e.seconds === null ? "—" : formatDuration(e.seconds * 1000)}</span>,
  },
  { key: "created", header: "Created", render: (e) => <span className="font-mono text-zinc-500">{formatTimestamp(e.created_at, true)}</span> },
  {
    key: "actions",
    header: <span className="sr-only">Actions</span>,
    render: (e) => (
      <span className="flex justify-end" onClick={(ev) => ev.stopPropagation()}>
        <ExtractionActions extraction={e} />
      </span>
    ),
  },
];

/** The model's extractions, newest first; a row opens its detail. */
export function ExtractionHistory({
  extractions,
  loaded,
  selectedId,
  onSelect,
}: {
  extractions: Extraction[];
  loaded: boolean;
  selectedId: string | null;
  onSelect: (id: string) => void;
}) {
  return (
    <Card title={`Extraction history (${extractions.length})`} data-testid="extraction-history">
      <Table
        columns={COLUMNS}
        rows={extractions}
        rowKey={(e) => e.id}
        caption="Extractions of this model"
        selectedKey={selectedId}
        onRowClick={(e) => onSelect(e.id)}
        rowTestId={(e) => `extraction-row-${e.id}`}
        empty={loaded ? "No extraction of this model yet." : "Loading…"}
        data-testid="extraction-history-table"
      />
    </Card>
  );
}

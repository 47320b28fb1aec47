import { GitCompare, RefreshCw } from "lucide-react";
import { describeArchitecture, type Training } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { StatusBadge } from "../../components/StatusBadge";
import { Table, type Column } from "../../components/Table";
import { formatInteger, formatTimestamp } from "../../lib/format";
import { navigate } from "../../lib/router";
import { formatMetric } from "./metrics";
import { TrainingProgress } from "./TrainingActions";

/** A figure of the latest (or final) metrics: the one SAE's, or the sweep's range. */
export function latestFigure(t: Training, key: "fvu" | "l0"): string {
  const values = (t.final_metrics ?? t.latest_metrics ?? [])
    .map((m) => m[`holdout_${key}`] ?? m[key])
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return "—";
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? formatMetric(lo) : `${formatMetric(lo)}–${formatMetric(hi)}`;
}

function columns(selected: ReadonlySet<string>, onToggle: (id: string) => void): Column<Training>[] {
  return [
    {
      key: "select",
      header: <span className="sr-only">Compare</span>,
      className: "w-6",
      render: (t) => (
        <input
          type="checkbox"
          className="accent-sky-500"
          checked={selected.has(t.id)}
          onClick={(e) => e.stopPropagation()}
          onKeyDown={(e) => e.stopPropagation()}
          onChange={() => onToggle(t.id)}
          aria-label={`Compare ${t.name}`}
          data-testid={`training-select-${t.id}`}
        />
      ),
    },
    { key: "status", header: "Status", render: (t) => <StatusBadge status={t.status} data-testid={`training-status-${t.id}`} /> },
    { key: "progress", header: "Progress", className: "w-40 min-w-32", render: (t) => <TrainingProgress training={t} compact /> },
    {
      key: "name",
      header: "Name",
      render: (t) => (
        <span className="block max-w-80 truncate font-mono text-zinc-100" title={`${t.name} · ${t.model_name} · ${t.hook_point}`}>
          {t.name}
        </span>
      ),
    },
    { key: "arch", header: "Architecture", render: (t) => <span className="font-mono text-zinc-300">{describeArchitecture(t)}</span> },
    {
      key: "steps",
      header: "Steps",
      className: "text-right",
      render: (t) => (
        <span className="font-mono text-zinc-300" data-testid={`training-steps-${t.id}`}>
          {formatInteger(t.steps_done)} / {formatInteger(t.total_steps)}
        </span>
      ),
    },
    { key: "fvu", header: "FVU", className: "text-right", render: (t) => <span className="font-mono text-zinc-200" data-testid={`training-fvu-${t.id}`}>{latestFigure(t, "fvu")}</span> },
    { key: "l0", header: "L0", className: "text-right", render: (t) => <span className="font-mono text-zinc-200" data-testid={`training-l0-${t.id}`}>{latestFigure(t, "l0")}</span> },
    { key: "created", header: "Created", render: (t) => <span className="font-mono text-zinc-500">{formatTimestamp(t.created_at, true)}</span> },
  ];
}

/** Every run, newest first, live: a row opens its dashboard; ticked rows can be compared. */
export function RunList({
  trainings,
  loaded,
  loading,
  selected,
  onToggle,
  onRefresh,
}: {
  trainings: Training[];
  loaded: boolean;
  loading: boolean;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  onRefresh: () => void;
}) {
  const chosen = trainings.filter((t) => selected.has(t.id)).map((t) => t.id);
  return (
    <Card
      title={`Runs (${trainings.length})`}
      data-testid="training-runs"
      actions={
        <>
          <Button
            size="sm"
            variant="primary"
            disabled={chosen.length < 2}
            title={chosen.length < 2 ? "Tick two runs or more to compare them" : undefined}
            onClick={() => navigate(`/training/compare?ids=${chosen.join(",")}`)}
            data-testid="training-compare-open"
          >
            <GitCompare className="size-3" aria-hidden /> Compare{chosen.length ? ` (${chosen.length})` : ""}
          </Button>
          <Button size="sm" variant="ghost" aria-label="Refresh the runs" onClick={onRefresh} data-testid="training-refresh">
            <RefreshCw className={loading ? "size-3 animate-spin" : "size-3"} aria-hidden />
          </Button>
        </>
      }
    >
      <Table
        columns={columns(selected, onToggle)}
        rows={trainings}
        rowKey={(t) => t.id}
        caption="Training runs, newest first"
        onRowClick={(t) => navigate(`/training/${t.id}`)}
        rowTestId={(t) => `training-row-${t.id}`}
        empty={loaded ? "No training yet: start one above." : "Loading…"}
        data-testid="training-runs-table"
      />
    </Card>
  );
}

import { useEffect, useState } from "react";
import { RefreshCw, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { steeringApi, type Experiment } from "../../api/steering";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { Table } from "../../components/Table";
import { formatTimestamp } from "../../lib/format";

export interface HistoryTabProps {
  /** Only this model's experiments ("" for all). */
  modelId: string;
  /** Changes when a run finishes, so the list reloads. */
  epoch: number;
  onOpen: (experiment: Experiment) => void;
}

/** What the experiment applied, in the server's words (a comparison's interventions, a sweep's one and its grid). */
function applied(experiment: Experiment): string {
  const result = experiment.result;
  if (Array.isArray(result.interventions)) return result.interventions.filter((i) => typeof i === "string").join("; ");
  const strengths = Array.isArray(experiment.request.strengths) ? ` (strengths ${experiment.request.strengths.join(", ")})` : "";
  return typeof result.intervention === "string" ? `${result.intervention.replace(/ × \S+/, "")}${strengths}` : "";
}

/** Every comparison and sweep kept, newest first: open one (its inputs and outputs come back), delete one. */
export function HistoryTab({ modelId, epoch, onOpen }: HistoryTabProps) {
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [deleting, setDeleting] = useState<Experiment | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    steeringApi.experiments({ model_id: modelId || undefined, limit: 100 }, controller.signal)
      .then((page) => {
        setExperiments(page.items);
        setTotal(page.pagination.total);
        setError(null);
      })
      .catch((e) => {
        if (!controller.signal.aborted) setError(messageOf(e));
      });
    return () => controller.abort();
  }, [modelId, epoch, reload]);

  return (
    <Card title={`History (${total})`} bodyClassName="space-y-2 p-0" data-testid="steering-history"
      actions={<Button size="sm" variant="ghost" onClick={() => setReload((n) => n + 1)} aria-label="Reload the history">
        <RefreshCw className="size-3" aria-hidden /></Button>}>
      {error && <div className="p-2"><FormError testId="history-error">{error}</FormError></div>}
      <Table data-testid="history-table" caption="Steering experiments" rows={experiments} rowKey={(e) => e.id}
        rowTestId={(e) => `history-${e.id}`} onRowClick={onOpen}
        empty={modelId ? "No experiment with this model yet." : "No experiment yet."}
        columns={[
          { key: "when", header: "When", render: (e) => formatTimestamp(e.created_at, true) },
          { key: "kind", header: "Kind", render: (e) => e.kind },
          { key: "model", header: "Model", render: (e) => e.model_name },
          { key: "prompt", header: "Prompt", className: "max-w-64 truncate", render: (e) => e.prompt },
          { key: "applied", header: "Applied", className: "max-w-72 truncate", render: (e) => applied(e) },
          { key: "seed", header: "Seed", render: (e) => e.seed },
          { key: "seconds", header: "Time", render: (e) => `${e.seconds.toFixed(1)}s` },
          { key: "actions", header: <span className="sr-only">Actions</span>, render: (e) => (
            <Button size="sm" variant="ghost" aria-label={`Delete the experiment of ${formatTimestamp(e.created_at, true)}`}
              onClick={(event) => {
                event.stopPropagation();
                setDeleting(e);
              }}><Trash2 className="size-3" aria-hidden /></Button>
          ) },
        ]} />
      <ConfirmDialog open={deleting !== null} title="Delete this experiment?" danger confirmLabel="Delete"
        message="Its inputs, outputs and metrics are removed from the history."
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const target = deleting;
          setDeleting(null);
          if (target) steeringApi.deleteExperiment(target.id).then(() => setReload((n) => n + 1)).catch((e) => setError(messageOf(e)));
        }} />
    </Card>
  );
}

/** One SAE's analyses, newest first: status, live progress, and pause / resume / delete as the server's flags allow. */
import { useState } from "react";
import { Loader2, Pause, Play, Trash2 } from "lucide-react";
import type { Analysis } from "../../api/features";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { StatusBadge } from "../../components/StatusBadge";
import { Table, type Column } from "../../components/Table";
import { formatCount, formatInteger, formatTimestamp } from "../../lib/format";
import { navigate } from "../../lib/router";
import { useAnalyses, type AnalysisAction, type AnalysisProgress } from "../../stores/features";

/** The streaming passes' share of the job's bar (features/tasks.py ANALYSIS_SHARE); the rest is logit lens, labels, store. */
const PASSES_SHARE = 0.9;

/** The bar's value: the row's, moved on by a newer progress event (events arrive between row writes). */
export function liveFraction(a: Pick<Analysis, "progress" | "active">, event: AnalysisProgress | undefined): number {
  if (!a.active || !event) return a.progress;
  const done = (event.pass_number - 1) * event.sequences_total + event.sequences_done;
  const fraction = done / Math.max(event.passes * event.sequences_total, 1);
  return Math.max(a.progress, fraction * PASSES_SHARE);
}

function ProgressCell({ analysis, event }: { analysis: Analysis; event: AnalysisProgress | undefined }) {
  if (analysis.ready) {
    return <span className="text-zinc-400">{formatInteger(analysis.tokens)} tokens · {formatInteger(analysis.dead_count)} dead</span>;
  }
  const speed = event?.tokens_per_second ?? analysis.tokens_per_second;
  return (
    <div className="w-64 space-y-0.5">
      <ProgressBar value={liveFraction(analysis, event)} indeterminate={analysis.status === "queued"} data-testid={`analysis-progress-${analysis.id}`} />
      <p className="truncate text-[11px] text-zinc-500" title={analysis.message ?? undefined}>
        {analysis.active && event
          ? `pass ${event.pass_number}/${event.passes} (${event.phase}): ${formatInteger(event.sequences_done)} of ${formatInteger(event.sequences_total)} seq · ${formatCount(speed)} tok/s`
          : (analysis.message ?? "")}
      </p>
    </div>
  );
}

function Actions({ analysis, pending, onDelete }: { analysis: Analysis; pending: AnalysisAction | undefined; onDelete: () => void }) {
  const { pause, resume } = useAnalyses.getState();
  const busy = pending !== undefined;
  const spin = (action: AnalysisAction) => pending === action && <Loader2 className="size-3 animate-spin" aria-hidden />;
  return (
    // Buttons act on the row only; the row itself opens the browser.
    <span className="flex justify-end gap-1" onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.stopPropagation()}>
      {analysis.active && (
        <Button size="sm" disabled={busy} onClick={() => void pause(analysis.id)} data-testid={`analysis-pause-${analysis.id}`}>
          {spin("pause") || <Pause className="size-3" aria-hidden />} Pause
        </Button>
      )}
      {(analysis.resumable || analysis.retryable) && !analysis.active && (
        <Button size="sm" disabled={busy} onClick={() => void resume(analysis.id)} data-testid={`analysis-resume-${analysis.id}`}>
          {spin("resume") || <Play className="size-3" aria-hidden />} Resume
        </Button>
      )}
      {!analysis.active && (
        <Button size="sm" variant="danger" disabled={busy} onClick={onDelete} aria-label="Delete the analysis" data-testid={`analysis-delete-${analysis.id}`}>
          {spin("delete") || <Trash2 className="size-3" aria-hidden />}
        </Button>
      )}
    </span>
  );
}

export function AnalysisList({ analyses, loaded }: { analyses: Analysis[]; loaded: boolean }) {
  const progress = useAnalyses((s) => s.progress);
  const pending = useAnalyses((s) => s.pending);
  const [deleting, setDeleting] = useState<Analysis | null>(null);
  const columns: Column<Analysis>[] = [
    { key: "status", header: "Status", render: (a) => <StatusBadge status={a.status} data-testid={`analysis-status-${a.id}`} /> },
    { key: "source", header: "Over", render: (a) => <span className="text-zinc-300">{a.source === "holdout" ? "hold-out" : "tokenization"} · {formatInteger(a.num_sequences)} seq</span> },
    { key: "model", header: "Model", render: (a) => <span className="block max-w-40 truncate text-zinc-400">{a.model_name} ({a.format}, {a.device})</span> },
    { key: "progress", header: "Progress / result", render: (a) => <ProgressCell analysis={a} event={progress[a.id]} /> },
    { key: "created", header: "Started", render: (a) => <span className="font-mono text-zinc-500">{formatTimestamp(a.created_at, true)}</span> },
    { key: "actions", header: <span className="sr-only">Actions</span>, render: (a) => <Actions analysis={a} pending={pending[a.id]} onDelete={() => setDeleting(a)} /> },
  ];
  return (
    <>
      <Table
        columns={columns}
        rows={analyses}
        rowKey={(a) => a.id}
        caption="Analyses of this SAE"
        onRowClick={(a) => navigate(`/features/analyses/${a.id}`)}
        rowTestId={(a) => `analysis-row-${a.id}`}
        empty={loaded ? "No analysis yet: start one above." : "Loading…"}
        data-testid="analysis-table"
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this analysis?"
        message="Its latents' rows, labels, notes and files are removed. This cannot be undone."
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) void useAnalyses.getState().remove(deleting.id);
          setDeleting(null);
        }}
      />
    </>
  );
}

import { useState } from "react";
import { FastForward, Loader2, Pause, Play, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import type { Training } from "../../api/training";
import { Button } from "../../components/Button";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { formatEta, formatInteger } from "../../lib/format";
import { useJobs } from "../../stores/jobs";
import { useTrainings } from "../../stores/training";

/** Steps done of total with the bar, tokens/s and ETA; the job's message before the first logged step. */
export function TrainingProgress({ training, compact = false }: { training: Training; compact?: boolean }) {
  const t = training;
  const job = useJobs((s) => (t.job_id ? s.active[t.job_id] : undefined));
  const started = t.steps_done > 0;
  // The steps done, also for a run stopped early: its bar says how far it got.
  const done = t.total_steps ? t.steps_done / t.total_steps : 0;
  return (
    <div className="space-y-1" data-testid={`training-progress-${t.id}`}>
      <ProgressBar
        value={done}
        indeterminate={t.active && !started}
        tone={t.status === "failed" ? "red" : t.ready ? "emerald" : t.active ? "sky" : "zinc"}
        label={`${t.status} ${t.name}`}
        data-testid="training-progress-bar"
      />
      {!compact && (
        <div className="flex flex-wrap gap-x-3 gap-y-0.5 font-mono text-[11px] text-zinc-400 tabular-nums">
          <span data-testid="training-progress-steps">
            step {formatInteger(t.steps_done)} / {formatInteger(t.total_steps)}
          </span>
          {t.active &&
            (started ? (
              <>
                <span>{t.tokens_per_second ? `${formatInteger(t.tokens_per_second)} tokens/s` : "— tokens/s"}</span>
                <span data-testid="training-progress-eta">ETA {formatEta(t.eta_seconds)}</span>
              </>
            ) : (
              <span className="text-zinc-500">{job?.message ?? (t.status === "queued" ? "waiting for the GPU queue…" : "starting…")}</span>
            ))}
          {t.stop_requested && t.active && <span className="text-amber-300">stopping after this step…</span>}
        </div>
      )}
    </div>
  );
}

/**
 * What can be done with the run, as the server's flags say: Pause and Stop while a job works on it (`active`),
 * Resume once it stopped part-way (`resumable`), Delete when nothing works on it. Stop and Delete ask first.
 */
export function TrainingActions({ training, onDeleted }: { training: Training; onDeleted?: () => void }) {
  const t = training;
  const [confirm, setConfirm] = useState<"stop" | "delete" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pending = useTrainings((s) => s.pending[t.id]);
  const { pause, stop, resume, remove } = useTrainings.getState();
  const spin = (action: string, Icon: typeof Pause) =>
    pending === action ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Icon className="size-3" aria-hidden />;

  const doDelete = async () => {
    setConfirm(null);
    setError(null);
    try {
      await remove(t.id);
      onDeleted?.();
    } catch (e) {
      setError(messageOf(e));
    }
  };

  return (
    <div className="flex flex-col items-end gap-1">
      <div className="flex flex-wrap items-center gap-1.5">
        {t.active && (
          <>
            <Button size="sm" disabled={pending === "pause"} onClick={() => void pause(t.id)} title="Stop after the current step with a checkpoint; Resume continues from there" data-testid="training-pause">
              {spin("pause", Pause)} Pause
            </Button>
            <Button
              size="sm"
              variant="danger"
              disabled={pending === "stop" || t.stop_requested}
              onClick={() => setConfirm("stop")}
              title="Finish early: end after the current step and keep the SAEs as they are then"
              data-testid="training-stop"
            >
              {spin("stop", FastForward)} {t.stop_requested ? "Stopping…" : "Stop"}
            </Button>
          </>
        )}
        {t.resumable && (
          <Button size="sm" variant="primary" disabled={pending === "resume"} onClick={() => void resume(t.id)} data-testid="training-resume">
            {spin("resume", Play)} Resume
          </Button>
        )}
        {!t.active && (
          <Button size="sm" variant="danger" disabled={pending === "delete"} onClick={() => setConfirm("delete")} data-testid="training-delete">
            {spin("delete", Trash2)} Delete
          </Button>
        )}
      </div>
      {error && <FormError testId="training-delete-error">{error}</FormError>}
      <ConfirmDialog
        open={confirm === "stop"}
        title="Finish this training early?"
        message="It ends after the current step and its SAEs are saved as they are then (and evaluated). It cannot be resumed afterwards; Pause keeps that option."
        confirmLabel="Stop and keep the SAEs"
        cancelLabel="Keep training"
        danger
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          setConfirm(null);
          void stop(t.id);
        }}
      />
      <ConfirmDialog
        open={confirm === "delete"}
        title="Delete this training?"
        message={
          <>
            The run <strong className="font-mono text-zinc-100">{t.name}</strong>, its metrics and its checkpoints are removed. Its {t.sae_ids.length} SAE(s) stay: delete them on their own. This cannot be undone.
          </>
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setConfirm(null)}
        onConfirm={() => void doDelete()}
      />
    </div>
  );
}

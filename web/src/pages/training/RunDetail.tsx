import { useEffect } from "react";
import { AlertTriangle, ArrowLeft } from "lucide-react";
import { hookPointsOf, memberSummary, trainingChannel, type Training } from "../../api/training";
import { Card } from "../../components/Card";
import { useItemFetch } from "../../components/DetailPage";
import { DetailList, DetailRow, JobDetailRow } from "../../components/Details";
import { ReadyTabs } from "../../components/ReadyTabs";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDuration, formatInteger, formatTimestamp } from "../../lib/format";
import { oneOf } from "../../lib/oneOf";
import { Link, navigate, setQuery, useLocation } from "../../lib/router";
import { socket } from "../../stores/live";
import { useTrainings } from "../../stores/training";
import { CheckpointsTab } from "./CheckpointsTab";
import { LogsTab } from "./LogsTab";
import { RunDashboard, useRunMetrics } from "./RunDashboard";
import { TrainingActions, TrainingProgress } from "./TrainingActions";

export const RUN_TABS = ["dashboard", "checkpoints", "logs", "config"] as const;
export type RunTab = (typeof RUN_TABS)[number];

function BackLink() {
  return (
    <Link href="/training" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200" data-testid="training-detail-back">
      <ArrowLeft className="size-3.5" aria-hidden /> Training
    </Link>
  );
}

/** What the run trains on and with: its data, the settings its SAEs share, and each SAE's shape and optimisation. */
function ConfigTab({ training: t }: { training: Training }) {
  const s = t.settings as Record<string, unknown>;
  const setting = (key: string) => (s[key] === undefined || s[key] === null ? "—" : String(s[key]));
  return (
    <div className="grid items-start gap-4 lg:grid-cols-2" data-testid="training-config">
      <Card title="Run">
        <DetailList testId="training-config-run">
          <DetailRow label="Model">
            <Link href={`/models/${t.model_id}`} className="text-sky-300 hover:underline">
              {t.model_name}
            </Link>
          </DetailRow>
          {t.extraction_id ? (
            <DetailRow label="Extraction">
              <Link href={`/models/${t.model_id}?tab=extraction&extraction=${t.extraction_id}`} className="text-sky-300 hover:underline">
                {t.extraction_id}
              </Link>
            </DetailRow>
          ) : (
            <DetailRow label="Streamed">
              {t.format ?? "?"} model over{" "}
              <Link href={`/datasets/${t.dataset_id}`} className="text-sky-300 hover:underline">
                {t.dataset_id}
              </Link>{" "}
              / {t.tokenization_id}
            </DetailRow>
          )}
          <DetailRow label="Hook point">
            {hookPointsOf(t).join(", ")}
            {t.target_hook_point && ` → ${t.target_hook_point} (transcoder)`}
          </DetailRow>
          <DetailRow label="d in / out">
            {t.d_in} / {t.d_out}
          </DetailRow>
          <DetailRow label="Steps">{formatInteger(t.total_steps)}</DetailRow>
          <DetailRow label="Batch tokens">{setting("batch_tokens")}</DetailRow>
          <DetailRow label="Seed">{setting("seed")}</DetailRow>
          <DetailRow label="Device">{setting("device")}</DetailRow>
          <DetailRow label="Compute">{setting("compute_dtype")}</DetailRow>
          <DetailRow label="Hold-out">{setting("holdout_fraction")}</DetailRow>
          <DetailRow label="Log / ckpt">
            every {setting("log_every")} / {setting("checkpoint_every")} steps
          </DetailRow>
          <DetailRow label="Time">{t.seconds === null ? "—" : formatDuration(t.seconds * 1000)}</DetailRow>
          <DetailRow label="Created">{formatTimestamp(t.created_at)}</DetailRow>
          {t.completed_at && <DetailRow label="Completed">{formatTimestamp(t.completed_at)}</DetailRow>}
          <JobDetailRow jobId={t.job_id} />
        </DetailList>
      </Card>
      <Card title={`SAEs (${t.members.length})`}>
        <table className="w-full text-left text-xs" data-testid="training-config-members">
          <thead>
            <tr className="border-b border-zinc-800 text-[11px] tracking-wide text-zinc-500 uppercase">
              <th className="px-2 py-1 font-medium">#</th>
              <th className="px-2 py-1 font-medium">Hook point</th>
              <th className="px-2 py-1 font-medium">Architecture</th>
              <th className="px-2 py-1 text-right font-medium">Width</th>
              <th className="px-2 py-1 text-right font-medium">k</th>
              <th className="px-2 py-1 text-right font-medium">lr</th>
              <th className="px-2 py-1 text-right font-medium">Sparsity coef.</th>
            </tr>
          </thead>
          <tbody className="font-mono">
            {t.members.map((m, i) => {
              const ms = memberSummary(m);
              return (
                <tr key={i} className="border-b border-zinc-800/60">
                  <td className="px-2 py-1 text-zinc-500">{i}</td>
                  <td className="px-2 py-1 text-zinc-300">{ms.hookPoint ?? t.hook_point}</td>
                  <td className="px-2 py-1 text-zinc-100">{ms.architecture}</td>
                  <td className="px-2 py-1 text-right text-zinc-200">{formatInteger(ms.width)}</td>
                  <td className="px-2 py-1 text-right text-zinc-200">{ms.k ?? "—"}</td>
                  <td className="px-2 py-1 text-right text-zinc-200">{ms.lr ?? "—"}</td>
                  <td className="px-2 py-1 text-right text-zinc-200">{ms.k === null ? (ms.sparsityCoefficient ?? "—") : "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Card>
    </div>
  );
}

/** /training/:id?tab=… — one run: status, progress and controls; its live dashboard, checkpoints, logs and settings. */
export function RunDetail({ id }: { id: string }) {
  const training = useTrainings((s) => s.trainings[id]);
  const fetchTraining = useTrainings((s) => s.fetchTraining);
  const { missing, loaded } = useItemFetch(id, fetchTraining, "Could not load the training");
  const points = useRunMetrics(training);
  const { search } = useLocation();
  const tab: RunTab = oneOf(RUN_TABS, search.get("tab")) ?? "dashboard";
  const active = training?.active ?? false;
  // The row's status changes come on `trainings/{id}` too (the store refetches on them) while something runs it.
  useEffect(() => (active ? socket.subscribe(trainingChannel(id)) : undefined), [id, active]);

  if (!training) {
    return (
      <div className="mx-auto max-w-7xl space-y-3 p-6" data-testid="training-detail">
        <BackLink />
        <p className="text-sm text-zinc-400" data-testid={missing ? "training-missing" : undefined}>
          {missing ? `No training with id ${id} (it may have been deleted).` : loaded ? "Could not load this training." : "Loading…"}
        </p>
      </div>
    );
  }
  const t = training;
  const problem = !t.active && !t.ready && t.message ? t.message : null;
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="training-detail" data-training-id={t.id} data-status={t.status}>
      <div>
        <BackLink />
        <div className="mt-1 flex flex-wrap items-start gap-2">
          <div className="min-w-0">
            <div className="flex flex-wrap items-center gap-2">
              <h1 className="font-mono text-lg font-semibold break-all text-zinc-50" data-testid="training-detail-name">
                {t.name}
              </h1>
              <StatusBadge status={t.status} data-testid="training-detail-status" />
            </div>
            <p className="font-mono text-xs text-zinc-500">
              {t.model_name} · {hookPointsOf(t).join(", ")}
              {t.target_hook_point && ` → ${t.target_hook_point}`} · d {t.d_in}
            </p>
          </div>
          <span className="ml-auto">
            <TrainingActions training={t} onDeleted={() => navigate("/training")} />
          </span>
        </div>
      </div>

      <Card bodyClassName="p-3">
        <TrainingProgress training={t} />
        {t.ready && t.message && <p className="mt-1 text-xs text-zinc-400" data-testid="training-detail-done">{t.message}</p>}
      </Card>

      {problem && (
        <p className="flex gap-2 rounded border border-amber-900 bg-amber-950/40 px-3 py-2 text-sm text-amber-100" role={t.status === "failed" ? "alert" : undefined} data-testid="training-detail-message">
          <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>{problem}</span>
        </p>
      )}

      <ReadyTabs tabs={RUN_TABS} tab={tab} ready noun="training" onSelect={(next) => setQuery({ tab: next === "dashboard" ? null : next }, { replace: true })} />
      <div role="tabpanel" data-testid={`training-panel-${tab}`}>
        {tab === "dashboard" ? (
          <RunDashboard training={t} points={points} />
        ) : tab === "checkpoints" ? (
          <CheckpointsTab training={t} />
        ) : tab === "logs" ? (
          <LogsTab training={t} />
        ) : (
          <ConfigTab training={t} />
        )}
      </div>
    </div>
  );
}

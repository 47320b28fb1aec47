import { useEffect, useMemo, useRef } from "react";
import { X } from "lucide-react";
import type { Job } from "../api/types";
import { Button } from "../components/Button";
import { CancelJobButton } from "../components/CancelJobButton";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { elapsedMs, formatDuration } from "../lib/format";
import { Link } from "../lib/router";
import { useNow } from "../lib/useNow";
import { useJobs } from "../stores/jobs";
import { sortedActive } from "../stores/jobsReducer";
import { useConnection } from "../stores/live";

export function JobRow({ job, now }: { job: Job; now: number }) {
  const active = job.active;
  return (
    <li
      data-testid={`job-row-${job.id}`}
      data-status={job.status}
      aria-label={`${job.kind} job, ${job.status}`}
      className="border-b border-zinc-800/80 px-3 py-2"
    >
      <div className="flex items-center gap-2">
        <StatusBadge status={job.status} />
        <Link
          href={`/jobs?job=${encodeURIComponent(job.id)}`}
          className="min-w-0 flex-1 truncate font-mono text-xs text-zinc-100 hover:underline"
          title={job.id}
        >
          {job.kind}
        </Link>
        <span className="font-mono text-[11px] text-zinc-500 tabular-nums" data-testid={`job-elapsed-${job.id}`} title="Elapsed">
          {formatDuration(elapsedMs(job, now))}
        </span>
        {active && <CancelJobButton job={job} />}
      </div>
      {job.message && (
        <div className="mt-1 truncate text-xs text-zinc-400" title={job.message} data-testid={`job-message-${job.id}`}>
          {job.message}
        </div>
      )}
      {active && (
        <ProgressBar
          className="mt-1.5"
          value={job.progress}
          indeterminate={job.status === "queued"}
          label={`Progress of ${job.kind}`}
          data-testid={`job-progress-${job.id}`}
        />
      )}
      {job.status === "failed" && job.error && (
        <pre
          className="mt-1 max-h-24 overflow-auto rounded bg-red-950/40 p-1.5 font-mono text-[11px] whitespace-pre-wrap text-red-200"
          data-testid={`job-error-${job.id}`}
        >
          {job.error}
        </pre>
      )}
    </li>
  );
}

export interface JobsDrawerProps {
  open: boolean;
  onClose: () => void;
}

export function JobsDrawer({ open, onClose }: JobsDrawerProps) {
  const activeMap = useJobs((s) => s.active);
  const recent = useJobs((s) => s.recent);
  const synced = useJobs((s) => s.synced);
  const conn = useConnection((s) => s.status);
  const active = useMemo(() => sortedActive(activeMap), [activeMap]);
  const now = useNow(1000, open);
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) {
        e.preventDefault();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open, onClose]);

  if (!open) return null;
  return (
    <aside
      id="jobs-drawer"
      data-testid="jobs-drawer"
      aria-label="Jobs"
      className="fixed top-10 right-0 bottom-7 z-40 flex w-[400px] max-w-full flex-col border-l border-zinc-800 bg-zinc-900 shadow-2xl"
    >
      <header className="flex items-center justify-between border-b border-zinc-800 px-3 py-2">
        <h2 className="text-sm font-semibold text-zinc-100">Jobs</h2>
        <div className="flex items-center gap-2">
          {conn !== "open" && (
            <span className="text-[11px] text-amber-400" data-testid="jobs-drawer-offline">
              live updates reconnecting…
            </span>
          )}
          <Button ref={closeRef} variant="ghost" size="sm" aria-label="Close the jobs drawer" data-testid="jobs-drawer-close" onClick={onClose}>
            <X className="size-4" aria-hidden />
          </Button>
        </div>
      </header>
      <div className="flex-1 overflow-y-auto">
        <section aria-labelledby="jobs-drawer-active">
          <h3 id="jobs-drawer-active" className="px-3 pt-3 pb-1 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">
            Active ({active.length})
          </h3>
          {active.length === 0 ? (
            <p className="px-3 py-2 text-xs text-zinc-500" data-testid="jobs-drawer-empty">
              {synced ? "No queued or running jobs." : "Loading…"}
            </p>
          ) : (
            <ul data-testid="jobs-drawer-active-list">
              {active.map((j) => (
                <JobRow key={j.id} job={j} now={now} />
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="jobs-drawer-recent">
          <h3 id="jobs-drawer-recent" className="px-3 pt-4 pb-1 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">
            Recently finished
          </h3>
          {recent.length === 0 ? (
            <p className="px-3 py-2 text-xs text-zinc-500">Nothing finished yet.</p>
          ) : (
            <ul data-testid="jobs-drawer-recent-list">
              {recent.map((j) => (
                <JobRow key={j.id} job={j} now={now} />
              ))}
            </ul>
          )}
          <div className="px-3 py-2">
            <Link href="/jobs" className="text-xs text-sky-400 hover:underline" onClick={onClose}>
              All jobs →
            </Link>
          </div>
        </section>
      </div>
    </aside>
  );
}

/**
 * Live progress of an item a job is producing (a model or dataset being downloaded or imported): a bar,
 * and under it the figures of the latest live event — or, before the first one (and after a reload),
 * the job's own progress and message.
 */
import type { ReactNode } from "react";
import type { HubDownloadProgress } from "../api/types";
import { formatBytes, formatEta, formatSpeed } from "../lib/format";
import { useJobs } from "../stores/jobs";
import { ProgressBar } from "./ProgressBar";

export function ItemProgress({
  item,
  live,
  fraction,
  testId,
  children,
}: {
  item: { status: string; name: string; job_id: string | null };
  /** A live event has arrived: `children` show its figures. */
  live: boolean;
  /** Fraction done, given the job's own progress (for before the first event). */
  fraction: (jobProgress: number | null | undefined) => number | null;
  /** Of the whole; the bar is `{testId}-bar`, the job's message `{testId}-message`. */
  testId: string;
  children: ReactNode;
}) {
  const job = useJobs((s) => (item.job_id ? s.active[item.job_id] : undefined));
  const value = fraction(job?.progress);
  const waiting = value === null || (item.status === "queued" && !live);
  return (
    <div className="space-y-1" data-testid={testId}>
      <ProgressBar value={value ?? 0} indeterminate={waiting} label={`${item.status} ${item.name}`} data-testid={`${testId}-bar`} />
      <div className="flex flex-wrap items-center gap-x-3 gap-y-0.5 font-mono text-[11px] text-zinc-400 tabular-nums">
        {live ? (
          children
        ) : (
          <span className="text-zinc-500" data-testid={`${testId}-message`}>
            {job?.message ?? (item.status === "queued" ? "waiting for a worker…" : `${item.status}…`)}
          </span>
        )}
      </div>
    </div>
  );
}

/** Bytes done of total, speed, ETA, files, and the file in flight of a Hub download. */
export function DownloadFigures({ progress, testId }: { progress: HubDownloadProgress; testId: string }) {
  return (
    <>
      <span data-testid={`${testId}-bytes`}>
        {formatBytes(progress.bytes_done)} / {formatBytes(progress.bytes_total)}
      </span>
      <span data-testid={`${testId}-speed`}>{formatSpeed(progress.bytes_per_second)}</span>
      <span data-testid={`${testId}-eta`}>ETA {formatEta(progress.eta_seconds)}</span>
      {progress.files_total > 0 && (
        <span>
          files {progress.files_done}/{progress.files_total}
        </span>
      )}
      {progress.current_file && <span className="truncate text-zinc-500">{progress.current_file}</span>}
    </>
  );
}

import { useEffect, useState } from "react";
import { messageOf } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import { eventOn } from "../../api/events";
import type { Training } from "../../api/training";
import type { Job } from "../../api/types";
import { FormError } from "../../components/FormError";
import { StatusBadge } from "../../components/StatusBadge";
import { formatTimestamp } from "../../lib/format";
import { Link } from "../../lib/router";
import { socket, useConnection } from "../../stores/live";

/** The log lines of the run's (latest) job, live while it runs, with its error once it failed. */
export function LogsTab({ training }: { training: Training }) {
  const jobId = training.job_id;
  const epoch = useConnection((s) => s.epoch);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!jobId) return;
    const ctrl = new AbortController();
    endpoints
      .getJob(jobId, ctrl.signal)
      .then((j) => !ctrl.signal.aborted && setJob(j))
      .catch((e) => !ctrl.signal.aborted && setError(messageOf(e)));
    const off = socket.onMessage((msg) => {
      const updated = eventOn("jobs", ["job.updated"], msg)?.data;
      if (updated?.id === jobId) setJob(updated);
    });
    return () => {
      ctrl.abort();
      off();
    };
  }, [jobId, epoch]);

  if (!jobId) return <p className="text-xs text-zinc-500">No job has run this training yet.</p>;
  return (
    <div className="space-y-2 text-xs" data-testid="training-logs">
      <div className="flex items-center gap-2 text-zinc-400">
        {job && <StatusBadge status={job.status} />}
        <span>
          Job{" "}
          <Link href={`/jobs?job=${jobId}`} className="font-mono text-sky-300 hover:underline">
            {jobId}
          </Link>
          {job?.message && <span className="text-zinc-500"> · {job.message}</span>}
        </span>
      </div>
      {error && <FormError testId="training-logs-error">{error}</FormError>}
      {job?.error && (
        <pre className="max-h-60 overflow-auto rounded bg-red-950/40 p-2 font-mono text-[11px] whitespace-pre-wrap text-red-200" data-testid="training-logs-job-error">
          {job.error}
        </pre>
      )}
      {!job ? (
        <p className="text-zinc-500">Loading…</p>
      ) : job.log.length === 0 ? (
        <p className="text-zinc-500">No log lines yet.</p>
      ) : (
        <ol className="max-h-[28rem] overflow-auto rounded bg-zinc-950 p-2 font-mono text-[11px]" data-testid="training-log-lines">
          {job.log.map((entry, i) => (
            <li key={i} className={entry.level === "error" ? "text-red-300" : entry.level === "warning" ? "text-amber-300" : "text-zinc-400"}>
              <span className="text-zinc-600">{formatTimestamp(entry.time)}</span> {entry.text}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

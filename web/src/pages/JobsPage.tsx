import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ChevronLeft, ChevronRight, RefreshCw, X } from "lucide-react";
import { isApiError, type ApiError } from "../api/client";
import { endpoints } from "../api/endpoints";
import { eventOn, type WsMessage } from "../api/events";
import type { Job, JobPage, JobStatus } from "../api/types";
import { STATUSES } from "../api/types";
import { oneOf } from "../lib/oneOf";
import { Button } from "../components/Button";
import { CancelJobButton } from "../components/CancelJobButton";
import { Card } from "../components/Card";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { Table, type Column } from "../components/Table";
import { elapsedMs, formatDuration, formatTimestamp, jsonPretty } from "../lib/format";
import { setQuery, useLocation } from "../lib/router";
import { useNow } from "../lib/useNow";
import { socket, useConnection } from "../stores/live";
import { reportError } from "../stores/toasts";

export const PAGE_SIZE = 25;

/** The job of a `job.updated` on `jobs` (every job), or null for any other message. */
const jobOf = (msg: WsMessage): Job | null => eventOn("jobs", ["job.updated"], msg)?.data ?? null;

function parseStatus(v: string | null): JobStatus | null {
  return oneOf(STATUSES, v) ?? null;
}

function JobDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const epoch = useConnection((s) => s.epoch);
  const now = useNow(1000, job !== null && job.active);

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    endpoints
      .getJob(id, ctrl.signal)
      .then(setJob)
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        if (isApiError(e)) setError(e);
        reportError(e, "Could not load job");
      });
    return () => ctrl.abort();
  }, [id, epoch]);

  useEffect(
    () =>
      socket.onMessage((msg) => {
        const updated = jobOf(msg);
        if (updated?.id === id) setJob(updated);
      }),
    [id],
  );

  return (
    <Card
      title="Job detail"
      data-testid="job-detail"
      className="w-[380px] shrink-0 self-start"
      actions={
        <Button size="sm" variant="ghost" aria-label="Close job detail" data-testid="job-detail-close" onClick={onClose}>
          <X className="size-3.5" aria-hidden />
        </Button>
      }
    >
      {error && !job ? (
        <p className="text-sm text-red-300" role="alert" data-testid="job-detail-error">
          {error.message}
        </p>
      ) : !job || job.id !== id ? (
        <p className="text-xs text-zinc-500">Loading…</p>
      ) : (
        <div className="space-y-3 text-xs" data-job-id={job.id} data-status={job.status}>
          <div className="flex items-center gap-2">
            <StatusBadge status={job.status} />
            <span className="font-mono text-sm text-zinc-100">{job.kind}</span>
            <span className="ml-auto">{job.active && <CancelJobButton job={job} testId="job-detail-cancel" />}</span>
          </div>
          <div className="font-mono text-[11px] break-all text-zinc-500">
            {job.id} · queue {job.queue} · runner {job.runner}
          </div>
          {job.active && (
            <ProgressBar value={job.progress} indeterminate={job.status === "queued"} label="Job progress" data-testid="job-detail-progress" />
          )}
          {job.message && <p className="text-zinc-300">{job.message}</p>}
          {job.error && (
            <div>
              <h3 className="mb-1 font-semibold text-red-300">Error</h3>
              <pre className="max-h-60 overflow-auto rounded bg-red-950/40 p-2 font-mono text-[11px] whitespace-pre-wrap text-red-200" data-testid="job-detail-error-text">
                {job.error}
              </pre>
            </div>
          )}
          <dl className="grid grid-cols-[6rem_1fr] gap-x-2 gap-y-1" data-testid="job-detail-timestamps">
            <dt className="text-zinc-500">Created</dt>
            <dd>{formatTimestamp(job.created_at)}</dd>
            <dt className="text-zinc-500">Started</dt>
            <dd>{formatTimestamp(job.started_at)}</dd>
            <dt className="text-zinc-500">Finished</dt>
            <dd>{formatTimestamp(job.finished_at)}</dd>
            <dt className="text-zinc-500">{job.finished_at ? "Duration" : "Elapsed"}</dt>
            <dd>{formatDuration(elapsedMs(job, now))}</dd>
          </dl>
          {job.log.length > 0 && (
            <div>
              <h3 className="mb-1 font-semibold text-zinc-300">Log</h3>
              <ol className="max-h-60 overflow-auto rounded bg-zinc-950 p-2 font-mono text-[11px]" data-testid="job-detail-log">
                {job.log.map((entry, i) => (
                  <li key={i} className={entry.level === "error" ? "text-red-300" : entry.level === "warning" ? "text-amber-300" : "text-zinc-400"}>
                    <span className="text-zinc-600">{formatTimestamp(entry.time)}</span> {entry.text}
                  </li>
                ))}
              </ol>
            </div>
          )}
          <div>
            <h3 className="mb-1 font-semibold text-zinc-300">Params</h3>
            <pre className="max-h-60 overflow-auto rounded bg-zinc-950 p-2 font-mono text-[11px] break-all whitespace-pre-wrap text-zinc-300" data-testid="job-detail-params">
              {jsonPretty(job.params)}
            </pre>
          </div>
          <div>
            <h3 className="mb-1 font-semibold text-zinc-300">Result</h3>
            <pre className="max-h-60 overflow-auto rounded bg-zinc-950 p-2 font-mono text-[11px] break-all whitespace-pre-wrap text-zinc-300" data-testid="job-detail-result">
              {job.result === null || job.result === undefined ? "—" : jsonPretty(job.result)}
            </pre>
          </div>
        </div>
      )}
    </Card>
  );
}

export default function JobsPage() {
  const { search } = useLocation();
  const status = parseStatus(search.get("status"));
  const page = Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1);
  const selected = search.get("job");
  const epoch = useConnection((s) => s.epoch);
  const now = useNow(1000);

  const [data, setData] = useState<JobPage | null>(null);
  const [loading, setLoading] = useState(false);
  const [reloadTick, setReloadTick] = useState(0);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const reload = useCallback(() => setReloadTick((t) => t + 1), []);

  useEffect(() => {
    const ctrl = new AbortController();
    setLoading(true);
    endpoints
      .listJobs({ status: status ? [status] : undefined, page, limit: PAGE_SIZE }, ctrl.signal)
      .then((d) => {
        setData(d);
        setLoading(false);
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setLoading(false);
        reportError(e, "Could not load jobs");
      });
    return () => ctrl.abort();
  }, [status, page, epoch, reloadTick]);

  // Live view: update rows in place; a job we don't show yet triggers a (debounced) refetch.
  useEffect(() => {
    const off = socket.onMessage((msg) => {
      const job = jobOf(msg);
      if (!job) return;
      let known = false;
      setData((d) => {
        if (!d) return d;
        const i = d.items.findIndex((j) => j.id === job.id);
        if (i < 0) return d;
        known = true;
        const items = d.items.slice();
        items[i] = job;
        return { ...d, items };
      });
      if (!known && page === 1 && !refetchTimer.current) {
        refetchTimer.current = setTimeout(() => {
          refetchTimer.current = null;
          reload();
        }, 500);
      }
    });
    return () => {
      off();
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = null;
    };
  }, [page, reload]);

  const total = data?.pagination.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  const columns = useMemo<Column<Job>[]>(
    () => [
      { key: "status", header: "Status", render: (j) => <StatusBadge status={j.status} />, className: "w-24" },
      { key: "kind", header: "Kind", render: (j) => <span className="font-mono text-zinc-100">{j.kind}</span> },
      {
        key: "message",
        header: "Message",
        render: (j) => (
          <span className={j.status === "failed" ? "text-red-300" : "text-zinc-400"} title={j.error ?? j.message ?? undefined}>
            {(j.status === "failed" ? j.error : j.message) ?? ""}
          </span>
        ),
        className: "max-w-[14rem] truncate",
      },
      {
        key: "progress",
        header: "Progress",
        render: (j) => (
          <ProgressBar
            value={j.status === "completed" ? 1 : j.progress}
            indeterminate={j.status === "queued"}
            tone={j.status === "failed" ? "red" : j.status === "completed" ? "emerald" : j.active ? "sky" : "zinc"}
            label={`Progress of ${j.kind}`}
          />
        ),
        className: "w-36 min-w-28",
      },
      {
        key: "created",
        header: "Created",
        render: (j) => (
          <span className="font-mono text-zinc-400" title={formatTimestamp(j.created_at)}>
            {formatTimestamp(j.created_at, true)}
          </span>
        ),
        className: "w-28",
      },
      {
        key: "elapsed",
        header: "Duration",
        render: (j) => <span className="font-mono text-zinc-400 tabular-nums">{formatDuration(elapsedMs(j, now))}</span>,
        className: "w-20",
      },
    ],
    [now],
  );

  return (
    <div className="flex gap-4 p-4" data-testid="jobs-page">
      <div className="min-w-0 flex-1">
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <h1 className="mr-auto text-base font-semibold text-zinc-50">Jobs</h1>
          <label className="flex items-center gap-1.5 text-xs text-zinc-400">
            Status
            <select
              aria-label="Filter jobs by status"
              data-testid="jobs-status-filter"
              value={status ?? ""}
              onChange={(e) => setQuery({ status: e.target.value || null, page: null })}
              className="h-7 rounded border border-zinc-700 bg-zinc-900 px-1.5 text-xs text-zinc-200"
            >
              <option value="">all</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <Button size="md" variant="ghost" aria-label="Refresh jobs" data-testid="jobs-refresh" onClick={reload} disabled={loading}>
            <RefreshCw className={loading ? "size-3.5 animate-spin" : "size-3.5"} aria-hidden />
          </Button>
        </div>
        <Card bodyClassName="p-0">
          <Table
            data-testid="jobs-table"
            caption="Jobs"
            columns={columns}
            rows={data?.items ?? []}
            rowKey={(j) => j.id}
            rowTestId={(j) => `jobs-table-row-${j.id}`}
            selectedKey={selected}
            onRowClick={(j) => setQuery({ job: j.id })}
            empty={data ? (status ? `No ${status} jobs.` : "No jobs yet.") : "Loading…"}
          />
        </Card>
        <nav aria-label="Pagination" className="mt-2 flex items-center justify-end gap-2 text-xs text-zinc-400">
          <span data-testid="jobs-page-info">
            Page {page} of {pages} · {total} job{total === 1 ? "" : "s"}
          </span>
          <Button
            size="sm"
            aria-label="Previous page"
            data-testid="jobs-page-prev"
            disabled={page <= 1}
            onClick={() => setQuery({ page: page - 1 > 1 ? page - 1 : null })}
          >
            <ChevronLeft className="size-3.5" aria-hidden />
          </Button>
          <Button size="sm" aria-label="Next page" data-testid="jobs-page-next" disabled={page >= pages} onClick={() => setQuery({ page: page + 1 })}>
            <ChevronRight className="size-3.5" aria-hidden />
          </Button>
        </nav>
      </div>
      {selected && <JobDetail id={selected} onClose={() => setQuery({ job: null })} />}
    </div>
  );
}

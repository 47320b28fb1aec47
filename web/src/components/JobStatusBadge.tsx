import type { JobStatus } from "../api/types";
import { cn } from "../lib/cn";

const STYLES: Record<JobStatus, string> = {
  queued: "bg-zinc-800 text-zinc-300 border-zinc-700",
  running: "bg-sky-950 text-sky-300 border-sky-800",
  succeeded: "bg-emerald-950 text-emerald-300 border-emerald-800",
  failed: "bg-red-950 text-red-300 border-red-800",
  cancelled: "bg-zinc-800 text-zinc-400 border-zinc-700",
  interrupted: "bg-amber-950 text-amber-300 border-amber-800",
};

export function JobStatusBadge({ status, className }: { status: JobStatus; className?: string }) {
  return (
    <span
      data-status={status}
      className={cn("inline-flex items-center rounded border px-1.5 py-px text-[11px] font-medium", STYLES[status], className)}
    >
      {status}
    </span>
  );
}

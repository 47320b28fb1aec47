import type { Status } from "../api/types";
import { cn } from "../lib/cn";

/** A lifecycle status, or "incompatible" for a model whose files arrived but cannot be loaded. */
export type BadgeStatus = Status | "incompatible";

/** One colour per status, whatever has it: grey waiting, sky working, green done, amber attention, red failed. */
const STYLES: Record<BadgeStatus, string> = {
  queued: "bg-zinc-800 text-zinc-300 border-zinc-700",
  running: "bg-sky-950 text-sky-300 border-sky-800",
  completed: "bg-emerald-950 text-emerald-300 border-emerald-800",
  incompatible: "bg-amber-950 text-amber-300 border-amber-800",
  failed: "bg-red-950 text-red-300 border-red-800",
  cancelled: "bg-zinc-800 text-zinc-400 border-zinc-700",
  interrupted: "bg-amber-950 text-amber-300 border-amber-800",
};

/** A status (of a job, model, variant, dataset, tokenization or extraction) as a small coloured badge. */
export function StatusBadge({ status, className, "data-testid": testId }: { status: BadgeStatus; className?: string; "data-testid"?: string }) {
  return (
    <span
      data-status={status}
      data-testid={testId}
      className={cn("inline-flex items-center rounded border px-1.5 py-px text-[11px] font-medium", STYLES[status], className)}
    >
      {status}
    </span>
  );
}

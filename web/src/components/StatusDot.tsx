import { cn } from "../lib/cn";

export type DotState = "ok" | "warn" | "error" | "idle" | "active";

const COLORS: Record<DotState, string> = {
  ok: "bg-emerald-500",
  warn: "bg-amber-500",
  error: "bg-red-500",
  idle: "bg-zinc-500",
  active: "bg-sky-500 animate-pulse",
};

export function StatusDot({ state, label, className }: { state: DotState; label?: string; className?: string }) {
  return (
    <span
      role={label ? "img" : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
      data-state={state}
      className={cn("inline-block size-2 shrink-0 rounded-full", COLORS[state], className)}
    />
  );
}

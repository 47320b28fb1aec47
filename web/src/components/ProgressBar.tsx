import { percentOf } from "../lib/format";
import { cn } from "../lib/cn";

export interface ProgressBarProps {
  /** 0..1 */
  value: number | null | undefined;
  label?: string;
  /** Animated stripe with no number (e.g. a queued job). */
  indeterminate?: boolean;
  showPercent?: boolean;
  tone?: "sky" | "emerald" | "red" | "zinc";
  className?: string;
  "data-testid"?: string;
}

const TONES = { sky: "bg-sky-500", emerald: "bg-emerald-500", red: "bg-red-500", zinc: "bg-zinc-500" };

export function ProgressBar({
  value,
  label = "Progress",
  indeterminate = false,
  showPercent = true,
  tone = "sky",
  className,
  "data-testid": testId,
}: ProgressBarProps) {
  const pct = percentOf(value);
  return (
    <div className={cn("flex items-center gap-2", className)} data-testid={testId}>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={indeterminate ? undefined : pct}
        aria-valuetext={indeterminate ? "waiting" : `${pct}%`}
        className="relative h-1.5 flex-1 overflow-hidden rounded-full bg-zinc-800"
      >
        <div
          // A new element when it turns determinate: the bar starts from its value, not shrinking from full width.
          key={indeterminate ? "waiting" : "value"}
          className={cn(
            "h-full rounded-full transition-[width] duration-300",
            TONES[tone],
            indeterminate && "w-full animate-pulse opacity-25",
          )}
          style={indeterminate ? undefined : { width: `${pct}%` }}
        />
      </div>
      {showPercent && (
        <span className="w-9 text-right font-mono text-[11px] text-zinc-400 tabular-nums" data-testid={testId ? `${testId}-percent` : undefined}>
          {indeterminate ? "—" : `${pct}%`}
        </span>
      )}
    </div>
  );
}

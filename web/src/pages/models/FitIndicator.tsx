import type { FitLevel } from "../../api/types";
import { StatusDot } from "../../components/StatusDot";

const FIT: Record<FitLevel, { state: "ok" | "warn" | "error"; text: string }> = {
  green: { state: "ok", text: "fits" },
  yellow: { state: "warn", text: "tight" },
  red: { state: "error", text: "too big" },
};

/** Green / yellow / red memory fit for the chosen budget, with words (colour is never the only cue). */
export function FitIndicator({ fit, budgetBytes }: { fit: FitLevel; budgetBytes?: number }) {
  const { state, text } = FIT[fit];
  return (
    <span className="inline-flex items-center gap-1 text-[11px] text-zinc-400" data-fit={fit} title={budgetBytes ? `for a ${Math.round(budgetBytes / 1024 ** 3)} GB budget` : undefined}>
      <StatusDot state={state} label={`memory fit: ${fit}`} />
      {text}
    </span>
  );
}

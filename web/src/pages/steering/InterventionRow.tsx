import { X } from "lucide-react";
import { MODES, type InterventionMode } from "../../api/steering";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import type { SteeringItem } from "./draft";
import { formatFigure } from "./figures";

/** The slider's reach: ± this many units (of max activation, or absolute). */
const RANGE = { max_activation: 4, absolute: 40 } as const;

export interface InterventionRowProps {
  item: SteeringItem;
  index: number;
  /** A completed analysis is chosen: strengths may be in units of the feature's max activation. */
  canScale: boolean;
  onChange: (item: SteeringItem) => void;
  onRemove: () => void;
}

/** One feature or direction: mode, strength slider (with its exact number), unit, remove. */
export function InterventionRow({ item, index, canScale, onChange, onRemove }: InterventionRowProps) {
  const unit = item.kind === "feature" ? item.unit : "absolute";
  // A typed strength beyond the usual reach widens the slider rather than pinning it at the end.
  const range = Math.max(RANGE[unit], Math.abs(item.strength));
  const ablate = item.kind === "feature" && item.mode === "ablate";
  const title = item.kind === "feature" ? `Feature #${item.feature}` : `Direction ${item.name}`;
  const absolute = item.kind === "feature" && unit === "max_activation" && item.maxActivation !== null
    ? ` = ${formatFigure(item.strength * item.maxActivation)} absolute` : "";
  return (
    <li className="space-y-2 rounded border border-zinc-800 bg-zinc-950/50 p-2" data-testid={`intervention-${index}`}>
      <div className="flex items-center justify-between gap-2 text-xs">
        <span className="truncate text-zinc-200">
          {title}
          {item.kind === "feature" && item.label && <span className="text-zinc-400"> · {item.label}</span>}
          {item.kind === "direction" && <span className="text-zinc-500"> · {item.hookPoint}</span>}
        </span>
        <Button size="sm" variant="ghost" onClick={onRemove} aria-label={`Remove ${title}`}><X className="size-3" aria-hidden /></Button>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        {item.kind === "feature" && (
          <select className={`${inputClass} w-auto`} value={item.mode} aria-label={`Mode of ${title}`} data-testid={`intervention-${index}-mode`}
            onChange={(e) => onChange({ ...item, mode: e.target.value as InterventionMode })}>
            {MODES.map((mode) => <option key={mode} value={mode}>{mode}</option>)}
          </select>
        )}
        {item.kind === "feature" && (
          <select className={`${inputClass} w-auto`} value={unit} aria-label={`Unit of ${title}'s strength`} disabled={ablate}
            data-testid={`intervention-${index}-unit`}
            onChange={(e) => onChange({ ...item, unit: e.target.value as "absolute" | "max_activation" })}>
            <option value="absolute">absolute</option>
            <option value="max_activation" disabled={!canScale}>× max activation</option>
          </select>
        )}
      </div>
      {!ablate && (
        <div className="flex items-center gap-2">
          <input type="range" className="flex-1 accent-sky-500" min={item.kind === "feature" && item.mode === "clamp" ? 0 : -range} max={range}
            step={range / 80} value={Math.max(-range, Math.min(range, item.strength))} aria-label={`Strength of ${title}`}
            data-testid={`intervention-${index}-slider`} onChange={(e) => onChange({ ...item, strength: Number(e.target.value) })} />
          <input type="number" className={`${inputClass} w-20`} value={item.strength} step="any" aria-label={`Strength of ${title}, exact`}
            data-testid={`intervention-${index}-strength`}
            onChange={(e) => onChange({ ...item, strength: e.target.value === "" ? 0 : Number(e.target.value) })} />
        </div>
      )}
      <p className="text-[11px] text-zinc-500">
        {ablate ? "ablate: the latent is clamped to 0 through the SAE (its error term kept)"
          : item.kind === "feature" && item.mode === "clamp" ? `clamp: the latent is set to this value${absolute}`
            : `add: the ${item.kind === "feature" ? "decoder direction" : "direction"} × strength${absolute}`}
      </p>
    </li>
  );
}

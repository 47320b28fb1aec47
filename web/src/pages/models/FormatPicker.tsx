import { useId } from "react";
import type { FormatEstimate, ModelFormat } from "../../api/types";
import { cn } from "../../lib/cn";
import { formatBytes } from "../../lib/format";
import { FitIndicator } from "./FitIndicator";

export interface FormatPickerProps {
  formats: FormatEstimate[];
  value: ModelFormat | null;
  onChange: (format: ModelFormat | null) => void;
  /** Offer "none" first (e.g. "Download only"). */
  noneLabel?: string;
  budgetBytes?: number;
  legend: string;
  /** Formats that can't be picked even when available (e.g. a variant already exists). */
  disabledReasons?: Partial<Record<ModelFormat, string>>;
  "data-testid"?: string;
}

/** A radio group of formats: estimate, spec figure, fit colour; an unavailable one is disabled with its reason. */
export function FormatPicker({
  formats,
  value,
  onChange,
  noneLabel,
  budgetBytes,
  legend,
  disabledReasons = {},
  "data-testid": testId,
}: FormatPickerProps) {
  const name = useId();
  return (
    <fieldset data-testid={testId}>
      <legend className="mb-1 text-xs font-medium text-zinc-300">{legend}</legend>
      <div className="overflow-hidden rounded border border-zinc-800">
        {noneLabel && (
          <label className="flex cursor-pointer items-center gap-2 border-b border-zinc-800 px-2 py-1.5 text-xs hover:bg-zinc-800/50">
            <input
              type="radio"
              name={name}
              checked={value === null}
              onChange={() => onChange(null)}
              data-testid={testId ? `${testId}-none` : undefined}
              className="accent-sky-500"
            />
            <span className="text-zinc-200">{noneLabel}</span>
          </label>
        )}
        {formats.map((f) => {
          const reason = !f.available ? (f.unavailable_reason ?? "not available on this device") : disabledReasons[f.format];
          const disabled = Boolean(reason);
          return (
            <label
              key={f.format}
              data-testid={testId ? `${testId}-${f.format}` : undefined}
              data-fit={f.fit}
              data-available={f.available}
              className={cn(
                "flex flex-wrap items-center gap-x-2 gap-y-0.5 border-b border-zinc-800 px-2 py-1.5 text-xs last:border-b-0",
                disabled ? "cursor-not-allowed opacity-60" : "cursor-pointer hover:bg-zinc-800/50",
                value === f.format && "bg-sky-950/40",
              )}
            >
              <input
                type="radio"
                name={name}
                value={f.format}
                checked={value === f.format}
                disabled={disabled}
                onChange={() => onChange(f.format)}
                aria-describedby={reason ? `${name}-${f.format}-reason` : undefined}
                className="accent-sky-500"
              />
              <span className="w-10 font-mono font-medium text-zinc-100 uppercase">{f.format}</span>
              <span className="w-20 text-right font-mono text-zinc-200 tabular-nums" title="refined estimate (embeddings, lm_head and norms stay unquantized)">
                {formatBytes(f.estimate_bytes)}
              </span>
              <span className="w-24 font-mono text-[11px] text-zinc-500 tabular-nums" title="spec: parameters × bytes per parameter × 1.2">
                spec {formatBytes(f.spec_bytes)}
              </span>
              <FitIndicator fit={f.fit} budgetBytes={budgetBytes} />
              <span className="ml-auto truncate text-[11px] text-zinc-500" title={f.backend}>
                {f.backend}
              </span>
              {reason && (
                <span id={`${name}-${f.format}-reason`} className="basis-full pl-6 text-[11px] text-amber-300/90" data-testid={testId ? `${testId}-${f.format}-reason` : undefined}>
                  {reason}
                </span>
              )}
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}

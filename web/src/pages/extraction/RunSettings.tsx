import type { StorageDtype } from "../../api/extraction";
import { STORAGE_DTYPES } from "../../api/extraction";
import { MODEL_FORMATS, type FormatsInfo, type ModelFormat } from "../../api/types";
import { Field, inputClass } from "../../components/Field";
import { formatInteger } from "../../lib/format";
import { BATCH_SIZES, type DraftErrors, type ExtractionDraft } from "./draft";

const sliderClass = "w-full accent-sky-500";

/** Max samples (slider 1..all), batch size (powers of 2), storage dtype, model format and an optional name. */
export function RunSettings({
  draft,
  available,
  formats,
  errors,
  onChange,
}: {
  draft: ExtractionDraft;
  /** Sequences in the chosen tokenization (null: none chosen yet). */
  available: number | null;
  formats: FormatsInfo | null;
  errors: DraftErrors;
  onChange: (patch: Partial<ExtractionDraft>) => void;
}) {
  const max = Math.max(1, available ?? 1);
  const all = draft.maxSamples === null;
  const batchIndex = Math.max(0, BATCH_SIZES.findIndex((b) => b === draft.batchSize));
  const formatInfo = (f: ModelFormat) => formats?.formats.find((x) => x.format === f);
  return (
    <div className="space-y-3">
      <Field
        label={
          <span className="flex justify-between">
            <span>Max samples</span>
            <span className="font-mono text-zinc-100" data-testid="extract-max-samples-value">
              {all ? `all${available !== null ? ` (${formatInteger(available)})` : ""}` : formatInteger(draft.maxSamples)}
            </span>
          </span>
        }
        error={errors.max_samples}
        hint={available !== null ? `sequences of the tokenization, 1 to ${formatInteger(available)}` : "choose a tokenization first"}
        data-testid="extract-max-samples-field"
      >
        {({ id, describedBy, invalid }) => (
          <div className="flex items-center gap-2">
            <input
              id={id}
              type="range"
              min={1}
              max={max}
              value={all ? max : Math.min(draft.maxSamples ?? max, max)}
              disabled={available === null || all}
              onChange={(e) => onChange({ maxSamples: Number(e.target.value) })}
              className={sliderClass}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              data-testid="extract-max-samples"
            />
            <input
              className={`${inputClass} max-w-20 py-0.5 text-right font-mono text-xs`}
              inputMode="numeric"
              aria-label="Max samples"
              value={all || !draft.maxSamples ? "" : String(draft.maxSamples)}
              placeholder="all"
              disabled={all}
              onChange={(e) => {
                const digits = e.target.value.replace(/\D/g, "");
                onChange({ maxSamples: digits === "" ? 0 : Number(digits) }); // 0: being typed, invalid until a number
              }}
              data-testid="extract-max-samples-input"
            />
            <label className="flex items-center gap-1 text-xs text-zinc-300">
              <input
                type="checkbox"
                className="accent-sky-500"
                checked={all}
                onChange={(e) => onChange({ maxSamples: e.target.checked ? null : Math.min(max, 1000) })}
                data-testid="extract-max-samples-all"
              />
              all
            </label>
          </div>
        )}
      </Field>

      <Field
        label={
          <span className="flex justify-between">
            <span>Batch size</span>
            <span className="font-mono text-zinc-100" data-testid="extract-batch-size-value">
              {draft.batchSize}
            </span>
          </span>
        }
        error={errors.batch_size}
        hint="halved automatically on out-of-memory"
      >
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            type="range"
            min={0}
            max={BATCH_SIZES.length - 1}
            step={1}
            value={batchIndex}
            onChange={(e) => onChange({ batchSize: BATCH_SIZES[Number(e.target.value)] ?? 32 })}
            className={sliderClass}
            aria-valuetext={String(draft.batchSize)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid="extract-batch-size"
          />
        )}
      </Field>

      <div className="grid grid-cols-2 gap-2">
        <Field label="Stored as" error={errors.dtype} hint="fp16/bf16 halve the disk">
          {({ id, describedBy }) => (
            <select id={id} className={inputClass} value={draft.dtype} onChange={(e) => onChange({ dtype: e.target.value as StorageDtype })} aria-describedby={describedBy} data-testid="extract-dtype">
              {STORAGE_DTYPES.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Model format" error={errors.format} hint={formats ? `run on ${formats.device}` : "the variant to run"}>
          {({ id, describedBy, invalid }) => (
            <select
              id={id}
              className={inputClass}
              value={draft.format}
              onChange={(e) => onChange({ format: e.target.value as ModelFormat })}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              data-testid="extract-format"
            >
              {MODEL_FORMATS.map((f) => {
                const info = formatInfo(f);
                const off = info !== undefined && !info.available;
                return (
                  <option key={f} value={f} disabled={off} title={off ? (info?.unavailable_reason ?? "not available here") : undefined}>
                    {f}
                    {off ? " (not available here)" : ""}
                  </option>
                );
              })}
            </select>
          )}
        </Field>
      </div>

      <Field label="Name" error={errors.name} hint="optional: made from the settings when empty">
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            className={inputClass}
            value={draft.name}
            maxLength={255}
            placeholder="resid_post_layers3-6_…"
            onChange={(e) => onChange({ name: e.target.value })}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid="extract-name"
          />
        )}
      </Field>
    </div>
  );
}

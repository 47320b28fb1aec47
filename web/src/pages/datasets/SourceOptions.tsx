import type { SourceFormat, TxtMode } from "../../api/datasets";
import { SOURCE_FORMATS } from "../../api/datasets";
import { Field, inputClass } from "../../components/Field";

export interface SourceOptionsValue {
  format: SourceFormat | "";
  txtMode: TxtMode;
  textColumn: string;
  name: string;
}

export const emptySourceOptions: SourceOptionsValue = { format: "", txtMode: "line", textColumn: "", name: "" };

/** Format, .txt mode, text column and name: shared by the upload and the import dialogs. */
export function SourceOptions({
  value,
  onChange,
  showTxtMode,
  testIdPrefix,
  namePlaceholder = "optional",
}: {
  value: SourceOptionsValue;
  onChange: (v: SourceOptionsValue) => void;
  showTxtMode: boolean;
  testIdPrefix: string;
  namePlaceholder?: string;
}) {
  const set = (patch: Partial<SourceOptionsValue>) => onChange({ ...value, ...patch });
  const columnApplies = value.format !== "txt";
  return (
    <div className="space-y-3">
      <div className="grid grid-cols-3 gap-2">
        <Field label="Format" hint="default: by file suffix">
          {({ id, describedBy }) => (
            <select
              id={id}
              className={inputClass}
              value={value.format}
              onChange={(e) => set({ format: e.target.value as SourceFormat | "" })}
              aria-describedby={describedBy}
              data-testid={`${testIdPrefix}-format`}
            >
              <option value="">auto</option>
              {SOURCE_FORMATS.map((f) => (
                <option key={f} value={f}>
                  .{f}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Text column" hint={columnApplies ? "jsonl/csv/parquet; default: detected" : "not used for .txt"}>
          {({ id, describedBy }) => (
            <input
              id={id}
              className={`${inputClass} font-mono`}
              value={value.textColumn}
              onChange={(e) => set({ textColumn: e.target.value })}
              placeholder="auto"
              disabled={!columnApplies}
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
              data-testid={`${testIdPrefix}-text-column`}
            />
          )}
        </Field>
        <Field label="Name">
          {({ id }) => (
            <input
              id={id}
              className={inputClass}
              value={value.name}
              maxLength={255}
              onChange={(e) => set({ name: e.target.value })}
              placeholder={namePlaceholder}
              data-testid={`${testIdPrefix}-name`}
            />
          )}
        </Field>
      </div>
      {showTxtMode && (
        <fieldset>
          <legend className="mb-1 text-xs font-medium text-zinc-300">.txt files hold</legend>
          <div className="flex gap-4 text-xs text-zinc-200">
            {(
              [
                ["line", "one document per line"],
                ["document", "one document per file"],
              ] as const
            ).map(([mode, label]) => (
              <label key={mode} className="flex items-center gap-1.5">
                <input
                  type="radio"
                  name={`${testIdPrefix}-txt-mode`}
                  value={mode}
                  checked={value.txtMode === mode}
                  onChange={() => set({ txtMode: mode })}
                  className="accent-sky-500"
                  data-testid={`${testIdPrefix}-txt-mode-${mode}`}
                />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
      )}
    </div>
  );
}

/** The training form's controls: a labelled text box, a select and a segmented choice, each with its error under it. */
import type { ReactNode } from "react";
import { Field, inputClass } from "../../components/Field";

/** A labelled text box for one field of the draft, with its error (client's or server's) under it. */
export function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  testId,
  placeholder,
  className,
  disabled,
}: {
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: ReactNode;
  testId: string;
  placeholder?: string;
  className?: string;
  /** A swept parameter: the sweep's values replace this box's. */
  disabled?: boolean;
}) {
  return (
    <div className={className} data-testid={`${testId}-field`}>
      <Field label={label} error={error} hint={hint} data-testid={`${testId}-field`}>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            className={`${inputClass} font-mono`}
            value={disabled ? "" : value}
            placeholder={disabled ? "swept" : placeholder}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid={testId}
          />
        )}
      </Field>
    </div>
  );
}

export function Select<T extends string>({
  label,
  value,
  options,
  onChange,
  error,
  hint,
  testId,
  disabled,
}: {
  label: ReactNode;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange: (v: T) => void;
  error?: string;
  hint?: ReactNode;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <div data-testid={`${testId}-field`}>
      <Field label={label} error={error} hint={hint} data-testid={`${testId}-field`}>
        {({ id, describedBy, invalid }) => (
          <select
            id={id}
            className={inputClass}
            value={value}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value as T)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid={testId}
          >
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}

export function Segmented<T extends string>({ label, value, options, onChange, testId }: { label: string; value: T; options: readonly { value: T; label: string }[]; onChange: (v: T) => void; testId: string }) {
  return (
    <div role="radiogroup" aria-label={label} className="inline-flex rounded border border-zinc-700 text-[11px]" data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={value === o.value}
          onClick={() => onChange(o.value)}
          className={value === o.value ? "bg-zinc-700 px-2 py-0.5 text-zinc-50" : "px-2 py-0.5 text-zinc-400 hover:text-zinc-200"}
          data-testid={`${testId}-${o.value}`}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

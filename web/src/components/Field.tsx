import { useId, type ReactNode } from "react";
import { cn } from "../lib/cn";

export const inputClass =
  "block w-full rounded border border-zinc-700 bg-zinc-950 px-2 py-1 text-sm text-zinc-100 placeholder:text-zinc-600 " +
  "focus:border-sky-600 focus:outline-none aria-[invalid=true]:border-red-700 disabled:opacity-50";

export interface FieldProps {
  label: ReactNode;
  /** Renders the control with the ids that tie it to its label, hint and error. */
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
  hint?: ReactNode;
  error?: string | null;
  className?: string;
  "data-testid"?: string;
}

/** A labelled form control with an optional hint and an inline error announced to assistive tech. */
export function Field({ label, children, hint, error, className, "data-testid": testId }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={cn("space-y-1", className)}>
      <label htmlFor={id} className="block text-xs font-medium text-zinc-300">
        {label}
      </label>
      {children({ id, describedBy, invalid: Boolean(error) })}
      {hint && !error && (
        <p id={hintId} className="text-[11px] text-zinc-500">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="text-[11px] text-red-300" role="alert" data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </p>
      )}
    </div>
  );
}

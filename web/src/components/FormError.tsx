import type { ReactNode } from "react";

/** Why a form's request was refused (the server's message), announced to assistive tech. */
export function FormError({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <p className="rounded bg-red-950/50 px-2 py-1 text-xs break-words text-red-200" role="alert" data-testid={testId}>
      {children}
    </p>
  );
}

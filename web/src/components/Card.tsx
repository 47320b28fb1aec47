import type { HTMLAttributes, ReactNode } from "react";
import { cn } from "../lib/cn";

export interface CardProps extends Omit<HTMLAttributes<HTMLElement>, "title"> {
  title?: ReactNode;
  actions?: ReactNode;
  bodyClassName?: string;
}

export function Card({ title, actions, children, className, bodyClassName, ...rest }: CardProps) {
  return (
    <section className={cn("rounded-md border border-zinc-800 bg-zinc-900/60", className)} {...rest}>
      {(title || actions) && (
        <header className="flex items-center justify-between gap-2 border-b border-zinc-800 px-3 py-2">
          {title && <h2 className="text-xs font-semibold tracking-wide text-zinc-300 uppercase">{title}</h2>}
          {actions && <div className="flex items-center gap-1">{actions}</div>}
        </header>
      )}
      <div className={cn("p-3", bodyClassName)}>{children}</div>
    </section>
  );
}

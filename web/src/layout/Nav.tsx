import { Link, matchesPath, useLocation } from "../lib/router";
import { SECTIONS, type Section } from "../sections";
import { cn } from "../lib/cn";

export function Nav({ sections = SECTIONS }: { sections?: readonly Section[] }) {
  const { pathname } = useLocation();
  return (
    <nav aria-label="Sections" data-testid="nav" className="flex w-44 shrink-0 flex-col gap-0.5 border-r border-zinc-800 bg-zinc-950 p-2">
      {sections.map((s) => {
        const active = matchesPath(s.path, pathname);
        const Icon = s.icon;
        return (
          <Link
            key={s.id}
            href={s.path}
            data-testid={`nav-${s.id}`}
            aria-current={active ? "page" : undefined}
            className={cn(
              "flex items-center gap-2 rounded px-2 py-1.5 text-sm",
              active ? "bg-zinc-800 text-zinc-50" : "text-zinc-400 hover:bg-zinc-900 hover:text-zinc-200",
            )}
          >
            <Icon className="size-4" aria-hidden />
            {s.label}
          </Link>
        );
      })}
    </nav>
  );
}

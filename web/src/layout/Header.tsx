import { useMemo, type Ref } from "react";
import { Activity, Microscope } from "lucide-react";
import { useJobs } from "../stores/jobs";
import { Link } from "../lib/router";
import { cn } from "../lib/cn";

export interface HeaderProps {
  drawerOpen: boolean;
  onToggleDrawer: () => void;
  toggleRef?: Ref<HTMLButtonElement>;
}

export function Header({ drawerOpen, onToggleDrawer, toggleRef }: HeaderProps) {
  const active = useJobs((s) => s.active);
  const count = useMemo(() => Object.keys(active).length, [active]);
  return (
    <header className="flex h-10 shrink-0 items-center justify-between border-b border-zinc-800 bg-zinc-900/80 px-3">
      <Link href="/" className="flex items-center gap-2 text-zinc-100" aria-label="miStudio home">
        <Microscope className="size-4 text-sky-400" aria-hidden />
        <span className="text-sm font-semibold tracking-tight" data-testid="product-name">
          miStudio
        </span>
        <span className="hidden text-xs text-zinc-500 sm:inline">MechInterp Studio</span>
      </Link>
      <button
        ref={toggleRef}
        type="button"
        data-testid="jobs-drawer-toggle"
        aria-label={`Jobs: ${count} active. ${drawerOpen ? "Close" : "Open"} the jobs drawer`}
        aria-expanded={drawerOpen}
        aria-controls="jobs-drawer"
        onClick={onToggleDrawer}
        className={cn(
          "inline-flex h-7 items-center gap-1.5 rounded border px-2 text-xs",
          drawerOpen ? "border-sky-700 bg-sky-950 text-sky-200" : "border-zinc-700 bg-zinc-800 text-zinc-200 hover:bg-zinc-700",
        )}
      >
        <Activity className={cn("size-3.5", count > 0 && "text-sky-400")} aria-hidden />
        Jobs
        <span
          data-testid="active-jobs-count"
          className={cn(
            "min-w-5 rounded-full px-1.5 text-center font-mono text-[11px] tabular-nums",
            count > 0 ? "bg-sky-600 text-white" : "bg-zinc-700 text-zinc-300",
          )}
        >
          {count}
        </span>
      </button>
    </header>
  );
}

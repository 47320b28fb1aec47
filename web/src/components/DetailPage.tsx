/** What the detail pages of list items (a model, a dataset) share: fetching the item, its header, and the page while it is not there. */
import { useEffect, useState, type ReactNode } from "react";
import { ArrowLeft } from "lucide-react";
import { Link } from "../lib/router";
import { useConnection } from "../stores/live";
import { reportError } from "../stores/toasts";
import { StatusBadge, type BadgeStatus } from "./StatusBadge";

/**
 * Fetch item `id` now, when `id` changes and on every (re)connect. `missing`: the last fetch found it gone
 * (404); `loaded`: a fetch has finished (an error is a toast titled `errorTitle`).
 */
export function useItemFetch(
  id: string,
  load: (id: string, signal: AbortSignal) => Promise<unknown>,
  errorTitle: string,
): { missing: boolean; loaded: boolean } {
  const epoch = useConnection((s) => s.epoch);
  const [missing, setMissing] = useState(false);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    const ctrl = new AbortController();
    load(id, ctrl.signal)
      .then((item) => {
        if (ctrl.signal.aborted) return;
        setMissing(item === null);
        setLoaded(true);
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setLoaded(true);
        reportError(e, errorTitle);
      });
    return () => ctrl.abort();
  }, [id, epoch, load]);
  return { missing, loaded };
}

/** The link back to the list of `noun`s (at `/{noun}s`). */
function BackLink({ noun, testId }: { noun: string; testId?: string }) {
  return (
    <Link href={`/${noun}s`} className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200" data-testid={testId}>
      <ArrowLeft className="size-3.5" aria-hidden /> {`${noun.charAt(0).toUpperCase()}${noun.slice(1)}s`}
    </Link>
  );
}

/** The detail page of a `noun` not in the store: loading, could not be loaded, or gone. */
export function ItemPlaceholder({ noun, id, missing, loaded }: { noun: string; id: string; missing: boolean; loaded: boolean }) {
  return (
    <div className="mx-auto max-w-7xl space-y-3 p-6" data-testid={`${noun}-detail`}>
      <BackLink noun={noun} />
      <p className="text-sm text-zinc-400" data-testid={missing ? `${noun}-missing` : undefined}>
        {missing ? `No ${noun} with id ${id} (it may have been deleted).` : loaded ? `Could not load this ${noun}.` : "Loading…"}
      </p>
    </div>
  );
}

/** Back to the list, then the item's name, status, source and actions; `children` go under that line. */
export function DetailHeader({
  noun,
  item,
  source,
  actions,
  children,
}: {
  /** `{noun}-detail-back`, `-detail-name` and `-detail-status` are the test ids. */
  noun: string;
  item: { name: string; status: BadgeStatus };
  source: string;
  actions: ReactNode;
  children?: ReactNode;
}) {
  return (
    <div>
      <BackLink noun={noun} testId={`${noun}-detail-back`} />
      <div className="mt-1 flex flex-wrap items-center gap-2">
        <h1 className="text-lg font-semibold text-zinc-50" data-testid={`${noun}-detail-name`}>
          {item.name}
        </h1>
        <StatusBadge status={item.status} data-testid={`${noun}-detail-status`} />
        <span className="font-mono text-xs text-zinc-500">{source}</span>
        <span className="ml-auto flex gap-1.5">{actions}</span>
      </div>
      {children}
    </div>
  );
}

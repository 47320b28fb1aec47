/**
 * The pieces of a list page (Models, Datasets): a heading with its actions, a filter row whose filters live
 * in the URL, the list itself as cards (or its error, or why it is empty), and the pager.
 */
import { useEffect, useState, type DependencyList, type ReactNode } from "react";
import { ChevronLeft, ChevronRight, RefreshCw } from "lucide-react";
import { setQuery, type Location } from "../lib/router";
import { useConnection } from "../stores/live";
import { Button } from "./Button";
import { inputClass } from "./Field";

/** `search` and `page` of a list page's URL. */
export function listParams(search: Location["search"]): { text: string | undefined; page: number } {
  return {
    text: search.get("search") || undefined,
    page: Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1),
  };
}

/**
 * Run `load` now, whenever `deps` change, on every (re)connect of the live socket, and when the returned
 * `refresh` is called; the load in flight is aborted when the next one starts.
 */
export function useListLoader(load: (signal: AbortSignal) => void, deps: DependencyList): () => void {
  const epoch = useConnection((s) => s.epoch);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    load(ctrl.signal);
    return () => ctrl.abort();
    // `load` is a fresh closure each render: what it reads is in `deps`.
  }, [...deps, epoch, tick]);
  return () => setTick((t) => t + 1);
}

/** A page title with its one-line description, and the page's actions on the right. */
export function PageHeader({ title, description, children }: { title: string; description: ReactNode; children?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-center gap-2">
      <div className="mr-auto">
        <h1 className="text-lg font-semibold text-zinc-50">{title}</h1>
        <p className="text-xs text-zinc-400">{description}</p>
      </div>
      {children}
    </div>
  );
}

/** A search box for the URL's `search`: the URL (and so the list) follows the box, debounced. */
export function SearchFilter({ text, label, testId }: { text: string | undefined; label: string; testId: string }) {
  const [draft, setDraft] = useState(text ?? "");
  useEffect(() => setDraft(text ?? ""), [text]);
  useEffect(() => {
    if ((draft || undefined) === text) return;
    const t = setTimeout(() => setQuery({ search: draft.trim() || null, page: null }, { replace: true }), 300);
    return () => clearTimeout(t);
  }, [draft, text]);
  return (
    <label className="text-xs text-zinc-400">
      <span className="sr-only">{label}</span>
      <input
        type="search"
        className={`${inputClass} w-56`}
        placeholder="Search name or repo…"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        data-testid={testId}
      />
    </label>
  );
}

/** A select for one URL filter (`param`); "all" removes it. Changing it goes back to page 1. */
export function SelectFilter({
  label,
  param,
  value,
  options,
  testId,
}: {
  label: string;
  param: string;
  value: string | undefined;
  options: readonly string[];
  testId: string;
}) {
  return (
    <label className="flex items-center gap-1 text-xs text-zinc-400">
      {label}
      <select
        className={`${inputClass} w-auto`}
        value={value ?? ""}
        onChange={(e) => setQuery({ [param]: e.target.value || null, page: null })}
        data-testid={testId}
      >
        <option value="">all</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

export function RefreshButton({ label, loading, onClick, testId }: { label: string; loading: boolean; onClick: () => void; testId: string }) {
  return (
    <Button variant="ghost" aria-label={label} onClick={onClick} disabled={loading} data-testid={testId}>
      <RefreshCw className={loading ? "size-3.5 animate-spin" : "size-3.5"} aria-hidden />
    </Button>
  );
}

/** Previous / "page n of m" / next, shown only when there is more than one page. */
export function Pager({ page, pages }: { page: number; pages: number }) {
  if (pages <= 1) return null;
  return (
    <div className="flex items-center justify-end gap-2 text-xs text-zinc-400">
      <Button size="sm" variant="ghost" disabled={page <= 1} onClick={() => setQuery({ page: page - 1 })} aria-label="Previous page">
        <ChevronLeft className="size-3.5" aria-hidden />
      </Button>
      <span>
        page {page} of {pages}
      </span>
      <Button size="sm" variant="ghost" disabled={page >= pages} onClick={() => setQuery({ page: page + 1 })} aria-label="Next page">
        <ChevronRight className="size-3.5" aria-hidden />
      </Button>
    </div>
  );
}

/** Why the list is empty (loading, filtered out, nothing yet); `action` (when given) goes under the text. */
export function EmptyList({ testId, children, action }: { testId: string; children: ReactNode; action?: ReactNode }) {
  const className = "rounded-md border border-dashed border-zinc-800 px-4 py-8 text-center text-sm text-zinc-500";
  if (action === undefined) {
    return (
      <p className={className} data-testid={testId}>
        {children}
      </p>
    );
  }
  return (
    <div className={`space-y-3 ${className}`} data-testid={testId}>
      <p>{children}</p>
      {action}
    </div>
  );
}

/**
 * The list section: "title (total)" with the filters beside it, then the cards (or the load error while
 * nothing was loaded, or `empty` when there are no cards), then the pager.
 */
export function ListSection({
  id,
  title,
  total,
  testIdPrefix,
  filters,
  error,
  loaded,
  empty,
  page,
  pages,
  listTestId,
  children,
}: {
  /** The heading's id. */
  id: string;
  title: string;
  total: number;
  /** `{prefix}-count` is the total's test id. */
  testIdPrefix: string;
  filters: ReactNode;
  error: string | null;
  loaded: boolean;
  /** Shown instead of the cards when there are none. */
  empty: ReactNode | null;
  page: number;
  pages: number;
  listTestId: string;
  children: ReactNode;
}) {
  return (
    <section aria-labelledby={id} className="space-y-3">
      <div className="flex flex-wrap items-end gap-2">
        <h2 id={id} className="mr-auto text-sm font-semibold text-zinc-200">
          {title}{" "}
          <span className="font-normal text-zinc-500" data-testid={`${testIdPrefix}-count`}>
            ({total})
          </span>
        </h2>
        {filters}
      </div>

      {error && !loaded ? (
        <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-sm text-red-200" role="alert">
          {error}
        </p>
      ) : empty !== null ? (
        empty
      ) : (
        <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid={listTestId}>
          {children}
        </div>
      )}

      <Pager page={page} pages={pages} />
    </section>
  );
}

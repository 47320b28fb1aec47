import { cn } from "../lib/cn";

/** A detail page's tab strip: the first tab always works, the others only once the item is ready. */
export function ReadyTabs<T extends string>({ tabs, tab, ready, noun, onSelect, labels }: {
  tabs: readonly T[];
  tab: T;
  ready: boolean;
  noun: string; // "model", "dataset": names the aria label, the disabled hint and the test ids
  onSelect: (tab: T) => void;
  /** A tab's text where its id, capitalized, does not say it ("saes" → "SAEs"). */
  labels?: Partial<Record<T, string>>;
}) {
  return (
    <div role="tablist" aria-label={`${noun.charAt(0).toUpperCase()}${noun.slice(1)} views`}
      className="flex gap-1 border-b border-zinc-800" data-testid={`${noun}-tabs`}>
      {tabs.map((t) => {
        const disabled = t !== tabs[0] && !ready;
        return (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            disabled={disabled}
            title={disabled ? `Available once the ${noun} is ready` : undefined}
            onClick={() => onSelect(t)}
            className={cn(
              "-mb-px border-b-2 px-3 py-1.5 text-sm capitalize transition-colors disabled:cursor-not-allowed disabled:opacity-40",
              tab === t ? "border-sky-500 text-zinc-50" : "border-transparent text-zinc-400 hover:text-zinc-200",
            )}
            data-testid={`${noun}-tab-${t}`}
          >
            {labels?.[t] ?? t}
          </button>
        );
      })}
    </div>
  );
}

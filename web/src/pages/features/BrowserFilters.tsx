/** The feature browser's search, sort and filters; every choice goes to the URL (typed ones once valid, debounced). */
import { useEffect, useState } from "react";
import { ArrowDownWideNarrow, ArrowUpNarrowWide } from "lucide-react";
import { SORT_FIELDS, SORT_LABELS } from "../../api/features";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { setQuery } from "../../lib/router";
import { browserErrors, effectiveOrder, SEARCH_MODES, type BrowserState } from "./browserQuery";

const TYPED_DELAY_MS = 300;
const PLACEHOLDERS = { label: "Text in the label…", token: "A token, e.g. king", index: "A latent's index" };

function Select({ label, value, onChange, options, testId }: { label: string; value: string; onChange: (v: string) => void; options: [string, string][]; testId: string }) {
  return (
    <label className="flex shrink-0 items-center gap-1 text-xs whitespace-nowrap text-zinc-400">
      {label}
      <select className={`${inputClass} w-auto`} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export function BrowserFilters({ state }: { state: BrowserState }) {
  // What the user types: pushed to the URL once it stops changing and is valid (an error shows meanwhile).
  const [typed, setTyped] = useState({ text: state.text, minFrequency: state.minFrequency, maxFrequency: state.maxFrequency });
  // The URL changed elsewhere (back button, a link): show it, unless it is what was typed, trimmed (keep the typing).
  useEffect(
    () =>
      setTyped((t) => ({
        text: t.text.trim() === state.text ? t.text : state.text,
        minFrequency: t.minFrequency.trim() === state.minFrequency ? t.minFrequency : state.minFrequency,
        maxFrequency: t.maxFrequency.trim() === state.maxFrequency ? t.maxFrequency : state.maxFrequency,
      })),
    [state.text, state.minFrequency, state.maxFrequency],
  );
  const errors = browserErrors({ ...state, ...typed });
  const valid = Object.keys(errors).length === 0;
  const changed = typed.text.trim() !== state.text || typed.minFrequency.trim() !== state.minFrequency || typed.maxFrequency.trim() !== state.maxFrequency;
  useEffect(() => {
    if (!valid || !changed) return;
    const t = setTimeout(
      () => setQuery({ q: typed.text.trim(), min_freq: typed.minFrequency.trim(), max_freq: typed.maxFrequency.trim(), page: null }, { replace: true }),
      TYPED_DELAY_MS,
    );
    return () => clearTimeout(t);
  }, [typed.text, typed.minFrequency, typed.maxFrequency, valid, changed]);
  const set = (params: Record<string, string | null>) => setQuery({ ...params, page: null });
  const order = effectiveOrder(state);
  const messages = Object.values(errors);

  return (
    <div className="space-y-1" data-testid="feature-filters">
      <div className="flex flex-wrap items-center gap-2">
        <Select label="Search by" value={state.mode} onChange={(v) => set({ by: v })} options={SEARCH_MODES.map((m) => [m, m])} testId="feature-search-mode" />
        <span className="block w-56">
        <input
          type="search"
          aria-label={`Search by ${state.mode}`}
          aria-invalid={Boolean(errors.text)}
          className={inputClass}
          placeholder={PLACEHOLDERS[state.mode]}
          value={typed.text}
          onChange={(e) => setTyped((t) => ({ ...t, text: e.target.value }))}
          data-testid="feature-search"
        />
        </span>
        <Select label="Sort" value={state.sort} onChange={(v) => set({ sort: v, order: null })} options={SORT_FIELDS.map((f) => [f, SORT_LABELS[f]])} testId="feature-sort" />
        <Button
          size="sm"
          variant="ghost"
          aria-label={order === "asc" ? "Ascending: make it descending" : "Descending: make it ascending"}
          onClick={() => set({ order: order === "asc" ? "desc" : "asc" })}
          data-testid="feature-order"
          data-order={order}
        >
          {order === "asc" ? <ArrowUpNarrowWide className="size-3.5" aria-hidden /> : <ArrowDownWideNarrow className="size-3.5" aria-hidden />}
        </Button>
        <Select
          label="Latents"
          value={state.liveliness}
          onChange={(v) => set({ live: v === "all" ? null : v })}
          options={[["all", "all"], ["alive", "alive"], ["dead", "dead"], ["dense", "dense"], ["not-dense", "not dense"]]}
          testId="feature-liveliness"
        />
        <Select label="Labelled" value={state.labelled} onChange={(v) => set({ labelled: v === "all" ? null : v })} options={[["all", "all"], ["yes", "yes"], ["no", "no"]]} testId="feature-labelled" />
        <label className="flex shrink-0 items-center gap-1 text-xs whitespace-nowrap text-zinc-400">
          <input type="checkbox" checked={state.favourites} onChange={(e) => set({ fav: e.target.checked ? "1" : null })} data-testid="feature-favourites" />
          favourites only
        </label>
        <label className="flex shrink-0 items-center gap-1 text-xs text-zinc-400">
          frequency
          <input
            className={`${inputClass} w-20!`}
            inputMode="decimal"
            placeholder="min"
            aria-label="Min frequency (fraction of tokens)"
            aria-invalid={Boolean(errors.minFrequency)}
            value={typed.minFrequency}
            onChange={(e) => setTyped((t) => ({ ...t, minFrequency: e.target.value }))}
            data-testid="feature-min-frequency"
          />
          –
          <input
            className={`${inputClass} w-20!`}
            inputMode="decimal"
            placeholder="max"
            aria-label="Max frequency (fraction of tokens)"
            aria-invalid={Boolean(errors.maxFrequency)}
            value={typed.maxFrequency}
            onChange={(e) => setTyped((t) => ({ ...t, maxFrequency: e.target.value }))}
            data-testid="feature-max-frequency"
          />
        </label>
      </div>
      {messages.length > 0 && (
        <p className="text-[11px] text-red-300" role="alert" data-testid="feature-filters-error">
          {messages.join(" · ")}
        </p>
      )}
    </div>
  );
}

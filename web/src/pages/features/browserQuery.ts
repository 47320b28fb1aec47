/**
 * The feature browser's state lives in the URL (a reload or a shared link shows the same rows): this reads it
 * into the list route's query and says what is wrong with a value the user typed, naming the field.
 */
import { SORT_FIELDS, type FeatureQuery, type SortField } from "../../api/features";

export const BROWSER_PAGE_SIZE = 50;
export type SearchMode = "label" | "token" | "index";
export const SEARCH_MODES: readonly SearchMode[] = ["label", "token", "index"];
/** One select for the latents' liveliness, since dead and dense exclude each other. */
export type Liveliness = "all" | "alive" | "dead" | "dense" | "not-dense";
export type Tristate = "all" | "yes" | "no";

export interface BrowserState {
  sort: SortField;
  order: "asc" | "desc" | null;
  liveliness: Liveliness;
  labelled: Tristate;
  favourites: boolean;
  minFrequency: string;
  maxFrequency: string;
  mode: SearchMode;
  text: string;
  page: number;
}

const oneOf = <T extends string>(value: string | null, options: readonly T[], fallback: T): T =>
  value !== null && (options as readonly string[]).includes(value) ? (value as T) : fallback;

export function readBrowserState(search: URLSearchParams): BrowserState {
  const order = search.get("order");
  return {
    sort: oneOf(search.get("sort"), SORT_FIELDS, "index"),
    order: order === "asc" || order === "desc" ? order : null,
    liveliness: oneOf(search.get("live"), ["all", "alive", "dead", "dense", "not-dense"] as const, "all"),
    labelled: oneOf(search.get("labelled"), ["all", "yes", "no"] as const, "all"),
    favourites: search.get("fav") === "1",
    minFrequency: search.get("min_freq") ?? "",
    maxFrequency: search.get("max_freq") ?? "",
    mode: oneOf(search.get("by"), SEARCH_MODES, "label"),
    text: search.get("q") ?? "",
    page: Math.max(1, Number.parseInt(search.get("page") ?? "1", 10) || 1),
  };
}

/** A frequency bound as a fraction in [0, 1] ("" → unset); the message names the field and the fix. */
function frequency(value: string, field: string): { value?: number; error?: string } {
  if (value.trim() === "") return {};
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) return { error: `${field}: a fraction between 0 and 1 (0.01 is 1% of the tokens)` };
  return { value: n };
}

/** What is wrong with the state's typed values, by field; empty when the query can be asked. */
export function browserErrors(state: BrowserState): Record<string, string> {
  const errors: Record<string, string> = {};
  const min = frequency(state.minFrequency, "Min frequency");
  const max = frequency(state.maxFrequency, "Max frequency");
  if (min.error) errors.minFrequency = min.error;
  if (max.error) errors.maxFrequency = max.error;
  if (min.value !== undefined && max.value !== undefined && min.value > max.value) {
    errors.maxFrequency = "Max frequency: at least the min frequency";
  }
  const text = state.text.trim();
  if (state.mode === "index" && text !== "" && !/^\d+$/.test(text)) errors.text = "Index: a latent's number, 0 or more";
  return errors;
}

/** The list route's query for a valid state (check `browserErrors` first). */
export function toFeatureQuery(state: BrowserState, limit = BROWSER_PAGE_SIZE): FeatureQuery {
  const query: FeatureQuery = { sort: state.sort, page: state.page, limit };
  if (state.order) query.order = state.order;
  if (state.liveliness === "alive") query.dead = false;
  if (state.liveliness === "dead") query.dead = true;
  if (state.liveliness === "dense") query.dense = true;
  if (state.liveliness === "not-dense") query.dense = false;
  if (state.labelled !== "all") query.labelled = state.labelled === "yes";
  if (state.favourites) query.favourite = true;
  const min = frequency(state.minFrequency, "").value;
  const max = frequency(state.maxFrequency, "").value;
  if (min !== undefined) query.min_frequency = min;
  if (max !== undefined) query.max_frequency = max;
  const text = state.text.trim();
  if (text) {
    if (state.mode === "label") query.search = text;
    else if (state.mode === "token") query.token = text;
    else query.latent = Number.parseInt(text, 10);
  }
  return query;
}

/** The order a sort uses when none is chosen (the server's: descending for statistics, ascending for the index). */
export function effectiveOrder(state: Pick<BrowserState, "sort" | "order">): "asc" | "desc" {
  return state.order ?? (state.sort === "index" ? "asc" : "desc");
}

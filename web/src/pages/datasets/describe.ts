/** Small pure helpers for describing datasets and tokens (unit-tested). */
import type { Dataset, TokenizeSettings } from "../../api/datasets";

/** Where a dataset came from, in one short line. */
export function datasetSource(dataset: Dataset): string {
  switch (dataset.source) {
    case "hub": {
      const parts = [dataset.repo_id ?? "?"];
      if (dataset.config && dataset.config !== "default") parts.push(dataset.config);
      if (dataset.split) parts.push(dataset.split);
      return parts.join(" · ");
    }
    case "example":
      return `example: ${(dataset.source_path ?? "").replace(/^example:/, "")}`;
    case "upload":
      return `upload: ${dataset.source_path ?? ""}`;
    default:
      return dataset.source_path ?? dataset.source;
  }
}

/** Settings of a tokenization, in one line: "512 tok · packed, BOS each · stride 64 · min 8 · no specials". */
export function describeSettings(s: TokenizeSettings): string {
  const parts = [`max ${s.max_length}`];
  parts.push(s.packing ? (s.bos_per_sequence ? "packed, BOS each" : "packed") : "truncate");
  if (s.stride) parts.push(`stride ${s.stride}`);
  if (s.min_length > 1) parts.push(`min ${s.min_length}`);
  if (!s.add_special_tokens) parts.push("no specials");
  return parts.join(" · ");
}

/**
 * A token as a reader sees it: the byte-level/sentencepiece space markers become a visible middle dot,
 * a token of spaces alone "␣", newlines and tabs visible arrows: every token has a width, no whitespace is lost.
 */
export function displayToken(token: string): string {
  if (token === "") return "∅";
  if (/^[Ġ▁ ]+$/u.test(token)) return "␣".repeat([...token].length); // a token that is only spaces
  return token
    .replace(/[Ġ▁ ]/gu, "·")
    .replace(/Ċ|\n/gu, "↵")
    .replace(/ĉ|\t/gu, "⇥")
    .replace(/\r/gu, "␍");
}

/** Background/text classes cycled per token so neighbouring tokens are told apart. */
export const TOKEN_COLORS = [
  "bg-sky-900/70 text-sky-100",
  "bg-emerald-900/70 text-emerald-100",
  "bg-amber-900/60 text-amber-100",
  "bg-fuchsia-900/60 text-fuchsia-100",
  "bg-teal-900/70 text-teal-100",
  "bg-rose-900/60 text-rose-100",
  "bg-indigo-900/70 text-indigo-100",
  "bg-lime-900/60 text-lime-100",
] as const;

export function tokenColor(index: number): string {
  return TOKEN_COLORS[((index % TOKEN_COLORS.length) + TOKEN_COLORS.length) % TOKEN_COLORS.length]!;
}

/** Problems with a settings draft (what the server would refuse), by field; empty when it is fine. */
export interface SettingsDraft {
  max_length: string;
  stride: string;
  min_length: string;
}

export function parseSettingsDraft(
  draft: SettingsDraft,
): { values: { max_length: number; stride: number; min_length: number } | null; errors: Partial<Record<keyof SettingsDraft, string>> } {
  const errors: Partial<Record<keyof SettingsDraft, string>> = {};
  const int = (v: string) => (/^\s*\d+\s*$/.test(v) ? Number.parseInt(v, 10) : Number.NaN);
  const maxLength = int(draft.max_length);
  const stride = draft.stride.trim() === "" ? 0 : int(draft.stride);
  const minLength = draft.min_length.trim() === "" ? 1 : int(draft.min_length);
  if (!Number.isFinite(maxLength) || maxLength < 1 || maxLength > 1_048_576) errors.max_length = "A whole number from 1 to 1,048,576.";
  if (!Number.isFinite(stride) || stride < 0) errors.stride = "A whole number ≥ 0.";
  else if (Number.isFinite(maxLength) && stride >= maxLength) errors.stride = "Must be smaller than the max length.";
  if (!Number.isFinite(minLength) || minLength < 1) errors.min_length = "A whole number ≥ 1.";
  if (Object.keys(errors).length) return { values: null, errors };
  return { values: { max_length: maxLength, stride, min_length: minLength }, errors };
}

/** Rows per split in one line: "train 1,000 · test 200". */
export function splitsLine(splits: Record<string, number>): string {
  const entries = Object.entries(splits);
  if (entries.length === 0) return "—";
  return entries.map(([s, n]) => `${s} ${n.toLocaleString("en-US")}`).join(" · ");
}

/** Split `text` into plain and matching parts (case-insensitive), for highlighting a search. */
export function highlightParts(text: string, query: string): Array<{ text: string; match: boolean }> {
  const q = query.trim();
  if (!q) return [{ text, match: false }];
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  const parts: Array<{ text: string; match: boolean }> = [];
  let at = 0;
  for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, i + needle.length)) {
    if (i > at) parts.push({ text: text.slice(at, i), match: false });
    parts.push({ text: text.slice(i, i + needle.length), match: true });
    at = i + needle.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), match: false });
  return parts;
}

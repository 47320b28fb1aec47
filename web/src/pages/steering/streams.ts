/**
 * The token streams of one steering request, as the `token` events of `steering/{request_id}` build them.
 *
 * Each event carries its run ("baseline", "steered", or in a sweep "intervention@4" / "random@4") and the index of
 * the run's newest token, so the text is kept per run by index: a late or repeated event lands in its place.
 */

/** Run name → the text each token added, by index (holes until their events arrive). */
export type Streams = Readonly<Record<string, readonly string[]>>;

export const BASELINE = "baseline";
export const STEERED = "steered";

export function applyToken(streams: Streams, event: { run: string; index: number; text: string }): Streams {
  const tokens = [...(streams[event.run] ?? [])];
  tokens[event.index] = event.text;
  return { ...streams, [event.run]: tokens };
}

/** The run's tokens so far (holes read as nothing). */
export function tokensOf(streams: Streams, run: string): string[] {
  return Array.from(streams[run] ?? [], (text) => text ?? "");
}

export const textOf = (streams: Streams, run: string): string => tokensOf(streams, run).join("");

/** A sweep run's name split into what was applied and at which strength (Python writes it with `:g`). */
export function parseSweepRun(run: string): { kind: "intervention" | "random"; strength: number } | null {
  const match = /^(intervention|random)@(.+)$/.exec(run);
  if (!match) return null;
  const strength = Number(match[2]);
  return Number.isFinite(strength) ? { kind: match[1] as "intervention" | "random", strength } : null;
}

/** The sweep run the server names for `kind` at `strength` (Python's `:g`: 4.0 → "4", 1e-5 → "1e-05"). */
export function sweepRunName(kind: "intervention" | "random", strength: number): string {
  return `${kind}@${formatG(strength)}`;
}

function formatG(value: number): string {
  if (value === 0) return "0";
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = value.toExponential(5).split("e");
    const trimmed = mantissa!.replace(/\.?0+$/, "");
    const sign = power!.startsWith("-") ? "-" : "+";
    return `${trimmed}e${sign}${power!.replace(/^[+-]/, "").padStart(2, "0")}`;
  }
  return String(Number(value.toPrecision(6)));
}

/**
 * Which of the steered run's generated tokens the intervention touches, by its positions: every one for "all" and
 * "generated", none for "prompt" (they only follow from a steered prompt's cache), from a position p on for a
 * number — p counts the prompt's tokens, `promptTokens` when known; unknown, null (no mark can be honest).
 */
export function steeredMask(count: number, positions: "all" | "prompt" | "generated" | number,
  promptTokens: number | null): boolean[] | null {
  if (positions === "all" || positions === "generated") return new Array<boolean>(count).fill(true);
  if (positions === "prompt") return new Array<boolean>(count).fill(false);
  if (promptTokens === null) return null;
  return Array.from({ length: count }, (_, index) => promptTokens + index >= positions);
}

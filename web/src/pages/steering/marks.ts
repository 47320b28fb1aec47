/**
 * One run's text as spans carrying both marks the comparison shows: words the other run lacks (the word diff)
 * and tokens generated under the intervention (the steered positions). The two split the text differently (words
 * vs tokens), so the text is cut at every boundary of either.
 */
import type { DiffPart } from "./wordDiff";

export interface MarkedSpan {
  text: string;
  changed: boolean;
  steered: boolean;
}

/** Character offsets where each piece ends. */
function ends(pieces: readonly string[]): number[] {
  let offset = 0;
  return pieces.map((piece) => (offset += piece.length));
}

export function markedSpans(parts: readonly DiffPart[], tokens: readonly string[], steered: readonly boolean[] | null): MarkedSpan[] {
  const text = parts.map((p) => p.text).join("");
  const partEnds = ends(parts.map((p) => p.text));
  const tokenEnds = ends(tokens);
  const cuts = [...new Set([...partEnds, ...tokenEnds])].filter((cut) => cut > 0 && cut <= text.length).sort((a, b) => a - b);
  if (cuts[cuts.length - 1] !== text.length) cuts.push(text.length);
  const spans: MarkedSpan[] = [];
  let start = 0;
  let part = 0;
  let token = 0;
  for (const cut of cuts) {
    if (cut <= start) continue;
    while (partEnds[part] !== undefined && partEnds[part]! <= start) part++;
    while (tokenEnds[token] !== undefined && tokenEnds[token]! <= start) token++;
    const span = {
      text: text.slice(start, cut),
      changed: parts[part]?.changed ?? false,
      // Text past the streamed tokens (none when the final answer came alone) is not marked.
      steered: steered !== null && token < tokens.length && steered[token] === true,
    };
    const last = spans[spans.length - 1];
    if (last && last.changed === span.changed && last.steered === span.steered) last.text += span.text;
    else spans.push(span);
    start = cut;
  }
  return spans;
}

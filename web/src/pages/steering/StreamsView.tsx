import { useMemo } from "react";
import { cn } from "../../lib/cn";
import { markedSpans } from "./marks";
import type { Positions } from "../../api/steering";
import { steeredMask } from "./streams";
import { wordDiff } from "./wordDiff";

export interface StreamsViewProps {
  baselineText: string;
  steeredText: string;
  /** The streamed tokens (empty for a result opened from the history: then no position is marked). */
  baselineTokens: readonly string[];
  steeredTokens: readonly string[];
  positions: Positions;
  /** The prompt's length in tokens, once the run has answered (positions from p count it first); null: unknown. */
  promptTokens: number | null;
  running: boolean;
  /** Where each column's title says what ran. */
  steeredLabel?: string;
}

function positionsNote(positions: Positions): string {
  if (positions === "prompt") return "steered on the prompt only: the generated tokens follow from its cache";
  if (typeof positions === "number") return `steered from position ${positions} on (the prompt's tokens count first)`;
  return "underlined: tokens generated under the intervention";
}

/** Baseline and steered side by side, token by token as they stream, with a word diff and the steered positions. */
export function StreamsView({ baselineText, steeredText, baselineTokens, steeredTokens, positions, promptTokens, running, steeredLabel = "Steered" }: StreamsViewProps) {
  const diff = useMemo(() => wordDiff(baselineText, steeredText), [baselineText, steeredText]);
  // Positions from p need the prompt's token count, known once the run answers: until then no mark, not a wrong one.
  const mask = steeredMask(steeredTokens.length, positions, promptTokens);
  const columns = [
    { key: "baseline", title: "Baseline", spans: markedSpans(diff.baseline, baselineTokens, null), tokens: baselineTokens.length },
    { key: "steered", title: steeredLabel, spans: markedSpans(diff.steered, steeredTokens, mask), tokens: steeredTokens.length },
  ];
  return (
    <div className="space-y-2" data-testid="steering-streams">
      <div className="grid gap-3 md:grid-cols-2">
        {columns.map((column) => (
          <div key={column.key} className="rounded border border-zinc-800 bg-zinc-950/60">
            <div className="flex items-center justify-between border-b border-zinc-800 px-2 py-1 text-[11px] text-zinc-400">
              <span className="font-semibold tracking-wide uppercase">{column.title}</span>
              {column.tokens > 0 && <span>{column.tokens} tokens</span>}
            </div>
            <pre className="min-h-24 p-2 font-mono text-sm break-words whitespace-pre-wrap text-zinc-100" aria-live="polite"
              data-testid={`steering-${column.key}-text`} data-state={running ? "running" : "idle"}>
              {column.spans.length === 0 && !running ? <span className="text-zinc-600">Nothing generated yet.</span> : null}
              {column.spans.map((span, index) => (
                <span key={index} data-changed={span.changed || undefined} data-steered={span.steered || undefined}
                  className={cn(span.changed && (column.key === "baseline" ? "bg-red-900/50 text-red-100" : "bg-emerald-900/50 text-emerald-100"),
                    span.steered && "underline decoration-amber-400/80 decoration-dotted underline-offset-4")}>
                  {span.text}
                </span>
              ))}
            </pre>
          </div>
        ))}
      </div>
      <p className="flex flex-wrap gap-x-4 text-[11px] text-zinc-500">
        <span><span className="bg-red-900/50 px-1 text-red-100">word</span> only in the baseline</span>
        <span><span className="bg-emerald-900/50 px-1 text-emerald-100">word</span> only in the steered text</span>
        <span>{positionsNote(positions)}</span>
        <span data-testid="steering-shared-words">{Math.round(diff.shared * 100)}% of words in common</span>
      </p>
    </div>
  );
}

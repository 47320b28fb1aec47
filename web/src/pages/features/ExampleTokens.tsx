/** One example window: each token tinted by the latent's activation on it, the value (and the ablation's Δ loss) on hover. */
import type { FeatureExample } from "../../api/features";
import { cn } from "../../lib/cn";

/** 0..1: how strongly `value` tints its token, against `scale` (the latent's max, so examples compare). */
export function tintOf(value: number, scale: number): number {
  if (!(scale > 0) || !(value > 0)) return 0;
  return Math.min(1, value / scale);
}

/** An amber background whose opacity follows the tint; nothing for a token where the latent is silent. */
export function tokenStyle(value: number, scale: number): { backgroundColor?: string } {
  const t = tintOf(value, scale);
  // A floor keeps a weak but non-zero activation visible next to a silent token.
  return t > 0 ? { backgroundColor: `rgba(245, 158, 11, ${(0.15 + 0.75 * t).toFixed(3)})` } : {};
}

/** A token as printed: spaces kept, line breaks and tabs made visible so the window stays on one line. */
export function visibleToken(text: string): string {
  return text.replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

export function formatActivation(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 100 || a < 0.001 ? v.toExponential(2) : v.toPrecision(3);
}

/** A window of tokens: `tokens[i]` -1 is padding (not shown); `deltaLoss` the ablation's effect per position, if measured. */
export interface TokenWindow {
  tokens: readonly number[];
  texts: readonly string[];
  activations: readonly number[];
  deltaLoss?: readonly (number | null)[] | null;
}

/** An example as a window of tokens. */
export const windowOf = (example: FeatureExample): TokenWindow => ({ ...example, deltaLoss: example.delta_loss });

export function ExampleTokens({ example, scale, testId }: { example: TokenWindow; scale: number; testId: string }) {
  const peak = example.activations.reduce((best, v, i) => (v > (example.activations[best] ?? -Infinity) ? i : best), 0);
  return (
    <div className="font-mono text-xs leading-6 break-words whitespace-pre-wrap text-zinc-200" data-testid={testId}>
      {example.tokens.map((token, i) => {
        // -1: outside the sequence or padding; nothing to show.
        if (token < 0) return null;
        const value = example.activations[i] ?? 0;
        const delta = example.deltaLoss?.[i];
        const hover = `${JSON.stringify(example.texts[i] ?? "")}: activation ${formatActivation(value)}` +
          (delta === undefined || delta === null ? "" : `, Δ loss when ablated ${formatActivation(delta)}`);
        return (
          <span
            key={i}
            title={hover}
            data-activation={value}
            data-testid={value > 0 ? "feature-token-active" : undefined}
            className={cn("rounded-sm", i === peak && value > 0 && "underline decoration-amber-300 underline-offset-4")}
            style={tokenStyle(value, scale)}
          >
            {visibleToken(example.texts[i] ?? "")}
          </span>
        );
      })}
    </div>
  );
}

import type { TokenInfo } from "../../api/datasets";
import { cn } from "../../lib/cn";
import { displayToken, tokenColor } from "./describe";

/**
 * Tokens of one sequence, each on its own colour (cycled) so boundaries show; hovering a token tells its id
 * and raw string, and `showIds` prints every id under its token.
 */
export function TokenView({
  tokens,
  showIds = false,
  className,
  "data-testid": testId,
}: {
  tokens: readonly TokenInfo[];
  showIds?: boolean;
  className?: string;
  "data-testid"?: string;
}) {
  return (
    <div className={cn("flex flex-wrap gap-x-px gap-y-1 font-mono text-xs leading-5", className)} data-testid={testId} data-count={tokens.length}>
      {tokens.map((t, i) => (
        <span
          key={i}
          className={cn("inline-flex flex-col items-center rounded-sm px-0.5", tokenColor(i))}
          title={`#${i} · id ${t.id} · ${JSON.stringify(t.token)}`}
          data-token-id={t.id}
        >
          <span className="whitespace-pre">{displayToken(t.token)}</span>
          {showIds && <span className="text-[9px] leading-3 opacity-70">{t.id}</span>}
        </span>
      ))}
    </div>
  );
}

/** How an analysis is named in the UI: the API keeps no name for it, so its source and when it started. */
import type { Analysis } from "../../api/features";
import { formatTimestamp } from "../../lib/format";

export function analysisTitle(a: Pick<Analysis, "source" | "created_at" | "num_sequences">): string {
  const over = a.source === "holdout" ? "hold-out" : "tokenization";
  return `Analysis over the ${over} (${a.num_sequences.toLocaleString("en-US")} sequences), ${formatTimestamp(a.created_at, true)}`;
}

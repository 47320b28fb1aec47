/** Small display helpers for model metadata whose shape the server leaves open. */
import type { Variant } from "../../api/types";

/** A variant's placement (`{"cuda:0": 20, "cpu": 4}`, `{"device": "cpu"}`, …) in one short line. */
export function describePlacement(placement: Record<string, unknown> | null | undefined): string {
  if (!placement) return "—";
  const parts = Object.entries(placement).map(([k, v]) => {
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) return `${k}: ${String(v)}`;
    if (Array.isArray(v)) return `${k}: ${v.length} item${v.length === 1 ? "" : "s"}`;
    return `${k}: {${Object.keys(v as object).length}}`;
  });
  return parts.length ? parts.join(", ") : "—";
}

/** Measured footprint against the estimate, as a signed percentage ("+4%"), or null when either is missing. */
export function estimateError(variant: Pick<Variant, "footprint_bytes" | "estimate_bytes">): string | null {
  const { footprint_bytes: measured, estimate_bytes: estimate } = variant;
  if (!measured || !estimate) return null;
  const pct = Math.round(((estimate - measured) / measured) * 100);
  return `${pct > 0 ? "+" : ""}${pct}%`;
}

/** The format a variant is (or will be) in: "Q4", or "Q2 → Q4" after a fallback. */
export function variantFormatLabel(variant: Pick<Variant, "requested_format" | "format">): string {
  const requested = variant.requested_format.toUpperCase();
  if (!variant.format || variant.format === variant.requested_format) return requested;
  return `${requested} → ${variant.format.toUpperCase()}`;
}

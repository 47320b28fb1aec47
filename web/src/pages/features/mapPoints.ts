/** The map's arithmetic, apart from drawing: colours per latent, data → pixel scaling, the point under the pointer,
 * heatmap cell colours and the heatmap's latent list as typed. */
import type { FeatureMap } from "../../api/featureMaps";

export type ColourBy = "frequency" | "label_score" | "labelled" | "label";
export const COLOUR_BY: readonly { value: ColourBy; label: string }[] = [
  { value: "frequency", label: "frequency" },
  { value: "label_score", label: "label score" },
  { value: "labelled", label: "labelled" },
  { value: "label", label: "same label" },
];
export const DEAD_COLOUR = "#3f3f46"; // zinc-700: dead latents stay visible but recede
export const MISSING_COLOUR = "#52525b"; // zinc-600: no score (unscored, or a label-less latent)

/** A hue from 0 (blue) to 1 (amber) on a dark background. */
export function ramp(t: number): string {
  const clamped = Math.min(1, Math.max(0, t));
  return `hsl(${Math.round(220 - 180 * clamped)} 85% ${Math.round(45 + 15 * clamped)}%)`;
}

/** A hue per label text (case and spaces folded), so latents that share a label share a colour wherever they lie. */
export function labelColour(label: string): string {
  let hash = 0;
  for (const char of label.trim().toLowerCase()) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return `hsl(${(hash >>> 0) % 360} 70% 60%)`;
}

/** One colour per latent. Frequency on a log scale (firing rates span decades); label score as is (0.5 is chance,
 * so 0.5→1 fills the ramp); labelled: amber or grey; same label: one hue per label text. */
export function pointColours(map: Pick<FeatureMap, "frequency" | "label" | "label_score" | "dead">, by: ColourBy): string[] {
  if (by === "label") return map.label.map((label, i) => (map.dead[i] ? DEAD_COLOUR : label ? labelColour(label) : MISSING_COLOUR));
  if (by === "labelled") return map.label.map((label, i) => (map.dead[i] ? DEAD_COLOUR : label ? ramp(1) : MISSING_COLOUR));
  if (by === "label_score")
    return map.label_score.map((score, i) => (map.dead[i] ? DEAD_COLOUR : score === null ? MISSING_COLOUR : ramp((score - 0.5) * 2)));
  const logs = map.frequency.map((f, i) => (map.dead[i] || f <= 0 ? null : Math.log10(f)));
  let [low, high] = [Infinity, -Infinity]; // a loop, not Math.min(...): 100k arguments overflow the stack
  for (const v of logs) if (v !== null) [low, high] = [Math.min(low, v), Math.max(high, v)];
  return logs.map((v) => (v === null ? DEAD_COLOUR : ramp(high > low ? (v - low) / (high - low) : 1)));
}

export interface Viewport {
  width: number;
  height: number;
  padding: number;
}

/** Data coordinates → pixels (equal scale on both axes, so distances on the map are not distorted; y grows up). */
export function toPixels(xs: readonly number[], ys: readonly number[], view: Viewport): { px: Float32Array; py: Float32Array } {
  const px = new Float32Array(xs.length);
  const py = new Float32Array(ys.length);
  if (xs.length === 0) return { px, py };
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < xs.length; i++) {
    minX = Math.min(minX, xs[i]!);
    maxX = Math.max(maxX, xs[i]!);
    minY = Math.min(minY, ys[i]!);
    maxY = Math.max(maxY, ys[i]!);
  }
  const spanX = maxX - minX || 1;
  const spanY = maxY - minY || 1;
  const scale = Math.min((view.width - 2 * view.padding) / spanX, (view.height - 2 * view.padding) / spanY);
  const offsetX = (view.width - scale * spanX) / 2;
  const offsetY = (view.height - scale * spanY) / 2;
  for (let i = 0; i < xs.length; i++) {
    px[i] = offsetX + (xs[i]! - minX) * scale;
    py[i] = view.height - (offsetY + (ys[i]! - minY) * scale);
  }
  return { px, py };
}

/** The latent drawn nearest to (x, y) within `radius` pixels, or null (a linear scan: 100k points in ~1 ms). */
export function nearestPoint(px: Float32Array, py: Float32Array, x: number, y: number, radius: number): number | null {
  let best: number | null = null;
  let bestDistance = radius * radius;
  for (let i = 0; i < px.length; i++) {
    const distance = (px[i]! - x) ** 2 + (py[i]! - y) ** 2;
    if (distance <= bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

/** A correlation's cell colour: red for positive, blue for negative, stronger with |r|; null (not stored) is grey. */
export function correlationColour(value: number | null): string {
  if (value === null) return "#27272a";
  const strength = Math.min(1, Math.abs(value));
  return value >= 0 ? `rgba(239, 68, 68, ${0.1 + 0.9 * strength})` : `rgba(59, 130, 246, ${0.1 + 0.9 * strength})`;
}

/** "1, 5 9" → the latents (order kept, repeats dropped), or the problem in words. */
export function parseLatentList(text: string, width: number | null, max: number): { latents: number[] } | { error: string } {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return { error: "Give latent indices, e.g. 1, 5, 9." };
  const bad = parts.find((p) => !/^\d+$/.test(p));
  if (bad !== undefined) return { error: `“${bad}” is not a latent index.` };
  const latents = [...new Set(parts.map(Number))];
  if (latents.length > max) return { error: `At most ${max} latents; got ${latents.length}.` };
  const outside = width === null ? undefined : latents.find((l) => l >= width);
  if (outside !== undefined) return { error: `Latent ${outside} is out of range: 0 to ${width! - 1}.` };
  return { latents };
}

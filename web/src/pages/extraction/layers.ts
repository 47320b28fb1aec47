/** Layer selections as people type them: "3-6,15,29", and "every Nth layer". */

export type LayerSpecResult = { layers: number[]; error: null } | { layers: null; error: string };

/**
 * Parse "3-6,15,29" (ranges inclusive, spaces allowed, any order, repeats merged) into sorted layer indices,
 * each checked against the model's `numLayers`. An empty text is an empty selection.
 */
export function parseLayerSpec(text: string, numLayers: number): LayerSpecResult {
  const chosen = new Set<number>();
  const max = numLayers - 1;
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d+)\s*(?:-\s*(\d+))?$/.exec(part);
    if (!m) return { layers: null, error: `"${part}" is not a layer or range: write e.g. 3-6,15,29` };
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return { layers: null, error: `"${part}": a range goes from low to high (${to}-${from})` };
    if (to > max) return { layers: null, error: `layer ${to} is out of range: this model has layers 0-${max}` };
    for (let i = from; i <= to; i++) chosen.add(i);
  }
  return { layers: [...chosen].sort((a, b) => a - b), error: null };
}

/** The shortest spec of a selection: [3,4,5,6,15] → "3-6,15". */
export function formatLayerSpec(layers: readonly number[]): string {
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(",");
}

/** Every `step`th layer from `start`: everyNth(4, 12) → [0, 4, 8]; a step below 1 selects nothing. */
export function everyNth(step: number, numLayers: number, start = 0): number[] {
  if (!Number.isInteger(step) || step < 1) return [];
  const out: number[] = [];
  for (let i = Math.max(0, start); i < numLayers; i += step) out.push(i);
  return out;
}

/** A compact label for a set of layers: "L3", "L3-L6", "L0,4,8 (3)". */
export function describeLayers(layers: readonly number[]): string {
  if (layers.length === 0) return "no layer";
  const spec = formatLayerSpec(layers);
  return layers.length === 1 ? `L${spec}` : `L${spec} (${layers.length})`;
}

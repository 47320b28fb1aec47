/**
 * What the Steering form holds (model, SAE, interventions, where, generation options) and the request bodies made
 * from it. Numbers stay strings while typed; the server checks every value and names the field it refuses.
 */
import type { CompareRequest, Direction, Intervention, InterventionMode, InterventionUnit, Positions, PresetRequest,
  SweepRequest } from "../../api/steering";

export interface FeatureItem {
  kind: "feature";
  key: string;
  saeId: string;
  feature: number;
  label: string | null;
  /** From the analysis (when the SAE has one): what a strength in units of max activation multiplies. */
  maxActivation: number | null;
  mode: InterventionMode;
  strength: number;
  unit: InterventionUnit;
}

export interface DirectionItem {
  kind: "direction";
  key: string;
  directionId: string;
  name: string;
  hookPoint: string;
  strength: number;
}

export type SteeringItem = FeatureItem | DirectionItem;
export type PositionsChoice = "all" | "prompt" | "generated" | "from";

export interface SteeringDraft {
  modelId: string;
  saeId: string;
  /** A completed analysis of the SAE: search, labels, and strengths in units of max activation. */
  analysisId: string | null;
  items: SteeringItem[];
  positions: PositionsChoice;
  fromPosition: string;
  prompt: string;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  /** Tokens whose probability shift the metrics report, comma-separated. */
  watchTokens: string;
  chatTemplate: boolean;
}

export const EMPTY_DRAFT: SteeringDraft = {
  modelId: "", saeId: "", analysisId: null, items: [], positions: "all", fromPosition: "0",
  prompt: "", maxNewTokens: "32", temperature: "0", topP: "1", seed: "0", watchTokens: "", chatTemplate: false,
};

let nextKey = 0;
export const itemKey = (): string => `item-${++nextKey}`;

export function featureItem(saeId: string, feature: number, extra: Partial<FeatureItem> = {}): FeatureItem {
  return { kind: "feature", key: itemKey(), saeId, feature, label: null, maxActivation: null, mode: "add",
    strength: 4, unit: "absolute", ...extra };
}

function numberOr(value: string, fallback: number): number {
  const parsed = Number(value);
  return value.trim() === "" || Number.isNaN(parsed) ? fallback : parsed;
}

/** The positions the intervention applies at, as the API takes them (a number: from that position on). */
export function positionsOf(draft: Pick<SteeringDraft, "positions" | "fromPosition">): Positions {
  return draft.positions === "from" ? Math.trunc(numberOr(draft.fromPosition, 0)) : draft.positions;
}

export function interventionOf(item: SteeringItem, draft: SteeringDraft, strength = item.strength): Intervention {
  const positions = positionsOf(draft);
  if (item.kind === "direction") {
    return { direction_id: item.directionId, mode: "add", strength, positions, unit: "absolute" };
  }
  const scaled = item.unit === "max_activation";
  return { sae_id: item.saeId, feature: item.feature, mode: item.mode, strength: item.mode === "ablate" ? 0 : strength,
    positions, unit: scaled ? "max_activation" : "absolute", analysis_id: scaled ? draft.analysisId : null };
}

/**
 * Watched tokens, comma-separated and trimmed ("king, queen" → ["king", "queen"]); quotes keep a token's own
 * leading space, which the tokenizer treats as another token (`" king"` → " king").
 */
export function watchedTokens(text: string): string[] {
  return text.split(",").map((token) => token.trim()).filter((token) => token !== "")
    .map((token) => (token.length >= 2 && token.startsWith('"') && token.endsWith('"') ? token.slice(1, -1) : token))
    .filter((token) => token !== "");
}

function generation(draft: SteeringDraft, requestId: string) {
  return {
    model_id: draft.modelId,
    prompt: draft.prompt,
    request_id: requestId,
    max_new_tokens: numberOr(draft.maxNewTokens, 32),
    temperature: numberOr(draft.temperature, 0),
    top_p: numberOr(draft.topP, 1),
    seed: draft.seed.trim() === "" ? null : numberOr(draft.seed, 0),
    use_chat_template: draft.chatTemplate ? null : false,
    tokens: watchedTokens(draft.watchTokens),
  };
}

export function compareBody(draft: SteeringDraft, requestId: string): CompareRequest {
  return { ...generation(draft, requestId), interventions: draft.items.map((item) => interventionOf(item, draft)) };
}

/** A sweep of the first intervention over `strengths`, with the norm-matched random direction as the control. */
export function sweepBody(draft: SteeringDraft, strengths: number[], requestId: string): SweepRequest {
  const first = draft.items[0];
  if (!first) throw new Error("add an intervention to sweep");
  return { ...generation(draft, requestId), intervention: interventionOf(first, draft), strengths, random_baseline: true };
}

export function presetBody(draft: SteeringDraft, name: string, description: string): PresetRequest {
  return { name, description: description.trim() || null, interventions: draft.items.map((item) => interventionOf(item, draft)) };
}

/**
 * A grid of strengths: "0, 2, 4" or a range "0:8:5" (start:stop:count, both ends included).
 * Answers the numbers, or a message saying what to write.
 */
export function parseStrengths(text: string): number[] | string {
  const range = /^\s*(-?[\d.e+-]+)\s*:\s*(-?[\d.e+-]+)\s*:\s*(\d+)\s*$/.exec(text);
  if (range) {
    const [start, stop, count] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (!Number.isFinite(start) || !Number.isFinite(stop) || count < 2 || count > 64) {
      return "a range is start:stop:count with 2–64 points, e.g. 0:8:5";
    }
    return Array.from({ length: count }, (_, i) => Number((start + ((stop - start) * i) / (count - 1)).toPrecision(6)));
  }
  const values = text.split(/[,\s]+/).filter((piece) => piece !== "").map(Number);
  if (values.length === 0) return "give the strengths to try, e.g. 0, 2, 4, 8";
  if (values.some((value) => !Number.isFinite(value))) return "strengths are numbers separated by commas, e.g. 0, 2, 4, 8";
  if (values.length > 64) return "at most 64 strengths";
  return values;
}

/** `?model=&sae=&feature=` (the feature browser's "steer with this feature"), what of it is well-formed. */
export function parseSteeringQuery(search: URLSearchParams): { model: string | null; sae: string | null; feature: number | null } {
  const feature = search.get("feature");
  const index = feature !== null && /^\d+$/.test(feature) ? Number(feature) : null;
  return { model: search.get("model") || null, sae: search.get("sae") || null, feature: index };
}

/** Interventions of a preset (or a stored experiment's request) back as form items, for the SAE or direction they name. */
export function itemsOf(interventions: readonly Intervention[], directionName: (id: string) => { name: string; hookPoint: string } | null): SteeringItem[] {
  return interventions.flatMap((intervention): SteeringItem[] => {
    if (intervention.direction_id) {
      const known = directionName(intervention.direction_id);
      return [{ kind: "direction", key: itemKey(), directionId: intervention.direction_id, name: known?.name ?? intervention.direction_id,
        hookPoint: known?.hookPoint ?? "?", strength: intervention.strength ?? 0 }];
    }
    if (!intervention.sae_id || intervention.feature === null || intervention.feature === undefined) return [];
    return [featureItem(intervention.sae_id, intervention.feature, { mode: intervention.mode ?? "add",
      strength: intervention.strength ?? 0, unit: intervention.unit ?? "absolute" })];
  });
}

/** A lookup of saved directions by id, for `itemsOf`. */
export function directionLookup(directions: readonly Direction[]): (id: string) => { name: string; hookPoint: string } | null {
  return (id) => {
    const found = directions.find((d) => d.id === id);
    return found ? { name: found.name, hookPoint: found.hook_point } : null;
  };
}

/** The form's interventions, SAE and positions replaced by a preset's (or a stored request's) interventions. */
export function patchFromInterventions(interventions: readonly Intervention[],
  directionName: (id: string) => { name: string; hookPoint: string } | null): Partial<SteeringDraft> {
  const items = itemsOf(interventions, directionName);
  const feature = items.find((item): item is FeatureItem => item.kind === "feature");
  const positions = interventions[0]?.positions;
  const where: Partial<SteeringDraft> = typeof positions === "number" ? { positions: "from", fromPosition: String(positions) }
    : positions ? { positions } : {};
  const analysisId = interventions.find((i) => i.analysis_id)?.analysis_id ?? null;
  return { items, ...(feature ? { saeId: feature.saeId, analysisId } : {}), ...where };
}

/** A stored experiment's request back in the form: model, prompt, options, seed, interventions (and a sweep's grid). */
export function patchFromRequest(request: Record<string, unknown>,
  directionName: (id: string) => { name: string; hookPoint: string } | null): { patch: Partial<SteeringDraft>; strengths: number[] | null } {
  const text = (key: string, fallback: string) => {
    const value = request[key];
    return typeof value === "number" || typeof value === "string" ? String(value) : fallback;
  };
  const interventions = Array.isArray(request.interventions) ? (request.interventions as Intervention[])
    : request.intervention && typeof request.intervention === "object" ? [request.intervention as Intervention] : [];
  const tokens = Array.isArray(request.tokens) ? request.tokens.filter((t): t is string => typeof t === "string") : [];
  const strengths = Array.isArray(request.strengths) ? request.strengths.filter((s): s is number => typeof s === "number") : null;
  return {
    patch: {
      modelId: text("model_id", ""), prompt: text("prompt", ""), maxNewTokens: text("max_new_tokens", "32"),
      temperature: text("temperature", "0"), topP: text("top_p", "1"), seed: text("seed", ""), watchTokens: tokens.join(", "),
      chatTemplate: request.use_chat_template !== false, ...patchFromInterventions(interventions, directionName),
    },
    strengths,
  };
}

/**
 * The training form's state, its checks (the server's, run before asking it), its presets, the request it makes,
 * how a server error maps onto its fields, and the client-side size estimate.
 */
import { isApiError } from "../../api/client";
import { isKFamily, sparsityPenalty, type SAEArchitecture, type SAESpec, type Schedule, type TrainRequest } from "../../api/training";
import { isOneOf } from "../../lib/oneOf";

/** The server's bounds (training/schemas.py), mirrored so the form says what is wrong before asking. */
export const LIMITS = {
  maxSweep: 8,
  expansionFactor: [1, 256],
  width: [1, 2 ** 24],
  k: [1, 2 ** 24],
  sparsityCoefficient: [0, 1e6],
  batchTokens: [1, 2 ** 22],
  seed: [0, 2 ** 31 - 1],
  safeInt: Number.MAX_SAFE_INTEGER,
} as const;

export type WidthMode = "expansion" | "width";
/** How long the run is: a number of steps, of tokens, or the server's default (2 epochs of the data). */
export type LengthMode = "steps" | "tokens" | "epochs";
export type SweepParam = "none" | "k" | "expansion_factor" | "lr" | "sparsity_coefficient";
export const SWEEP_LABELS: Record<SweepParam, string> = {
  none: "no sweep (one SAE)",
  k: "k",
  expansion_factor: "expansion factor",
  lr: "learning rate",
  sparsity_coefficient: "sparsity coefficient",
};

/** Numbers are kept as typed (strings) so half-typed values like "4e-" stay in the box; they are checked on the way out. */
export interface TrainingDraft {
  extractionId: string;
  hookPoint: string;
  /** "": an SAE; a hook point: a transcoder reconstructing it from `hookPoint`. */
  targetHookPoint: string;
  name: string;
  architecture: SAEArchitecture;
  widthMode: WidthMode;
  expansionFactor: string;
  width: string;
  k: string;
  lr: string;
  sparsityCoefficient: string;
  schedule: Schedule;
  warmupSteps: string;
  sweepParam: SweepParam;
  /** The swept parameter's values, comma- or space-separated: one SAE each, trained over one read of the data. */
  sweepValues: string;
  lengthMode: LengthMode;
  steps: string;
  totalTokens: string;
  batchTokens: string;
  seed: string;
  logEvery: string;
  /** "": no checkpoints (a pause then restarts from the beginning). */
  checkpointEvery: string;
  evaluateInModel: boolean;
}

/** The request fields (of the run, or of each SAE) a message can be shown next to. */
export const FIELDS = [
  "extraction_id",
  "hook_point",
  "target_hook_point",
  "name",
  "architecture",
  "expansion_factor",
  "width",
  "k",
  "lr",
  "sparsity_coefficient",
  "schedule",
  "warmup_steps",
  "sweep",
  "steps",
  "total_tokens",
  "batch_tokens",
  "seed",
  "log_every",
  "checkpoint_every",
] as const;
export type DraftField = (typeof FIELDS)[number];
export type DraftErrors = Partial<Record<DraftField, string>>;

export function initialDraft(): TrainingDraft {
  return {
    extractionId: "",
    hookPoint: "",
    targetHookPoint: "",
    name: "",
    architecture: "topk",
    widthMode: "expansion",
    expansionFactor: "8",
    width: "",
    k: "32",
    lr: "0.0004",
    sparsityCoefficient: "5",
    schedule: "constant",
    warmupSteps: "0",
    sweepParam: "none",
    sweepValues: "",
    lengthMode: "steps",
    steps: "2000",
    totalTokens: "",
    batchTokens: "4096",
    seed: "0",
    logEvery: "25",
    checkpointEvery: "200",
    evaluateInModel: true,
  };
}

// --- presets ------------------------------------------------------------------------------------------------

export interface Preset {
  id: string;
  label: string;
  /** What it sets: the SAE's shape, sparsity and optimisation; the data and the run's length stay. */
  patch: Partial<TrainingDraft>;
}

const SHAPE = { widthMode: "expansion", expansionFactor: "8", width: "", schedule: "constant", warmupSteps: "0" } as const;
export const PRESETS: readonly Preset[] = [
  { id: "topk-8x-k32", label: "TopK 8× k=32", patch: { ...SHAPE, architecture: "topk", k: "32", lr: "0.0004", sweepParam: "none", sweepValues: "" } },
  { id: "relu-l1-8x", label: "ReLU+L1 8×", patch: { ...SHAPE, architecture: "standard", sparsityCoefficient: "5", lr: "0.0004", sweepParam: "none", sweepValues: "" } },
  { id: "jumprelu-8x", label: "JumpReLU 8×", patch: { ...SHAPE, architecture: "jumprelu", sparsityCoefficient: "1", lr: "0.0004", sweepParam: "none", sweepValues: "" } },
  { id: "sweep-k", label: "Sweep k=16/32/64", patch: { ...SHAPE, architecture: "topk", k: "32", lr: "0.0004", sweepParam: "k", sweepValues: "16, 32, 64" } },
];

export function applyPreset(d: TrainingDraft, preset: Preset): TrainingDraft {
  return { ...d, ...preset.patch };
}

/** The parameters a sweep can vary for `architecture` (k only for the k family, the coefficient only outside it). */
export function sweepParams(architecture: SAEArchitecture): SweepParam[] {
  return isKFamily(architecture) ? ["none", "k", "expansion_factor", "lr"] : ["none", "expansion_factor", "lr", "sparsity_coefficient"];
}

// --- checks -----------------------------------------------------------------------------------------------

/** A typed number, or NaN for anything that is not one ("", "4e-", "1x"). */
export function parseNumber(text: string): number {
  const t = text.trim();
  return t === "" ? Number.NaN : Number(t);
}

const isIntIn = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
const fmt = (n: number) => n.toLocaleString("en-US");

/** The sweep's values (empty without a sweep). */
export function sweepList(d: Pick<TrainingDraft, "sweepParam" | "sweepValues">): number[] {
  if (d.sweepParam === "none") return [];
  return d.sweepValues
    .split(/[\s,;/]+/)
    .filter(Boolean)
    .map(parseNumber);
}

/** The number of latents an SAE of the draft has (`expansion` overrides the draft's factor); null while unknown. */
export function widthOf(d: TrainingDraft, dIn: number | null, expansion?: number): number | null {
  if (d.widthMode === "width") {
    const w = parseNumber(d.width);
    return isIntIn(w, LIMITS.width[0], LIMITS.width[1]) ? w : null;
  }
  const e = expansion ?? parseNumber(d.expansionFactor);
  return dIn !== null && isIntIn(e, LIMITS.expansionFactor[0], LIMITS.expansionFactor[1]) ? e * dIn : null;
}

function checkK(k: number, width: number | null): string | null {
  if (!isIntIn(k, LIMITS.k[0], LIMITS.k[1])) return "A whole number, at least 1.";
  if (width !== null && k > width) return `At most the width (${fmt(width)} latents).`;
  return null;
}
const checkExpansion = (e: number) => (isIntIn(e, LIMITS.expansionFactor[0], LIMITS.expansionFactor[1]) ? null : "A whole number from 1 to 256.");
const checkLr = (lr: number) => (Number.isFinite(lr) && lr > 0 && lr <= 1 ? null : "A number above 0, at most 1.");
const checkSparsity = (c: number) => (Number.isFinite(c) && c >= 0 && c <= LIMITS.sparsityCoefficient[1] ? null : "A number from 0 to 1,000,000.");

/**
 * What is wrong before asking the server (`hookPoints`: those of the chosen extraction; `dIn`: its d_model, for
 * k ≤ width). The same rules as the server's, so a request that passes is refused only for what the server alone
 * knows (e.g. a batch larger than the data).
 */
export function validateDraft(d: TrainingDraft, hookPoints: readonly string[] | null, dIn: number | null): DraftErrors {
  const errors: DraftErrors = {};
  if (!d.extractionId) errors.extraction_id = "Choose a completed extraction.";
  else if (!d.hookPoint) errors.hook_point = "Choose the hook point to train on.";
  else if (hookPoints && !hookPoints.includes(d.hookPoint)) errors.hook_point = `The extraction has ${hookPoints.join(", ")}.`;
  if (d.targetHookPoint && hookPoints && !hookPoints.includes(d.targetHookPoint)) errors.target_hook_point = "Not a hook point of this extraction.";
  if (d.name.length > 255) errors.name = "At most 255 characters.";

  const sweeping = d.sweepParam !== "none";
  const values = sweepList(d);
  if (sweeping && !sweepParams(d.architecture).includes(d.sweepParam)) errors.sweep = `${d.architecture} has no ${SWEEP_LABELS[d.sweepParam]} to sweep.`;
  else if (sweeping && (values.length < 2 || values.length > LIMITS.maxSweep)) errors.sweep = `From 2 to ${LIMITS.maxSweep} values, e.g. 16, 32, 64.`;

  if (d.widthMode === "width") {
    if (!isIntIn(parseNumber(d.width), LIMITS.width[0], LIMITS.width[1])) errors.width = `A whole number of latents from 1 to ${fmt(LIMITS.width[1])}.`;
  } else if (d.sweepParam !== "expansion_factor") {
    const problem = checkExpansion(parseNumber(d.expansionFactor));
    if (problem) errors.expansion_factor = problem;
  }
  if (isKFamily(d.architecture) && d.sweepParam !== "k") {
    const widths = d.sweepParam === "expansion_factor" && !errors.sweep ? values.map((e) => widthOf(d, dIn, e)) : [widthOf(d, dIn)];
    const known = widths.filter((w): w is number => w !== null);
    const problem = checkK(parseNumber(d.k), known.length ? Math.min(...known) : null);
    if (problem) errors.k = problem;
  }
  if (d.sweepParam !== "lr") {
    const problem = checkLr(parseNumber(d.lr));
    if (problem) errors.lr = problem;
  }
  if (sparsityPenalty(d.architecture) && d.sweepParam !== "sparsity_coefficient") {
    const problem = checkSparsity(parseNumber(d.sparsityCoefficient));
    if (problem) errors.sparsity_coefficient = problem;
  }
  if (sweeping && !errors.sweep) {
    const problem = values
      .map((v) => {
        switch (d.sweepParam) {
          case "k":
            return checkK(v, widthOf(d, dIn));
          case "expansion_factor":
            return checkExpansion(v) ?? (isKFamily(d.architecture) ? checkK(parseNumber(d.k), widthOf(d, dIn, v)) : null);
          case "lr":
            return checkLr(v);
          default:
            return checkSparsity(v);
        }
      })
      .find((p) => p !== null);
    if (problem) errors.sweep = `Each value: ${problem.charAt(0).toLowerCase()}${problem.slice(1)}`;
  }
  if (!isIntIn(parseNumber(d.warmupSteps), 0, LIMITS.safeInt)) errors.warmup_steps = "0 or more steps.";

  if (d.lengthMode === "steps" && !isIntIn(parseNumber(d.steps), 1, LIMITS.safeInt)) errors.steps = "At least 1 step.";
  if (d.lengthMode === "tokens" && !isIntIn(parseNumber(d.totalTokens), 1, LIMITS.safeInt)) errors.total_tokens = "At least 1 token.";
  if (!isIntIn(parseNumber(d.batchTokens), LIMITS.batchTokens[0], LIMITS.batchTokens[1])) errors.batch_tokens = `From 1 to ${fmt(LIMITS.batchTokens[1])} tokens.`;
  if (!isIntIn(parseNumber(d.seed), LIMITS.seed[0], LIMITS.seed[1])) errors.seed = `A whole number from 0 to ${fmt(LIMITS.seed[1])}.`;
  if (!isIntIn(parseNumber(d.logEvery), 1, LIMITS.safeInt)) errors.log_every = "Every 1 step or more.";
  if (d.checkpointEvery.trim() !== "" && !isIntIn(parseNumber(d.checkpointEvery), 1, LIMITS.safeInt)) errors.checkpoint_every = "Every 1 step or more, or empty for none.";
  return errors;
}

// --- the request -------------------------------------------------------------------------------------------

/** The server's defaults (training/schemas.py) for what the form does not ask; the generated types want every field. */
const SPEC_DEFAULTS = {
  optimizer: "adam",
  weight_decay: 0,
  lr_end_fraction: 0,
  sparsity_coefficient: 5,
  sparsity_warmup_steps: 0,
  aux_coefficient: 1 / 32,
} as const satisfies Partial<SAESpec>;
const RUN_DEFAULTS = {
  holdout_fraction: 0.05,
  compute_dtype: "float32",
  normalize_input: true,
  b_dec_init: "geometric_median",
  dead_window_tokens: 1_000_000,
  keep_checkpoints: 2,
  eval_sequences: 16,
} as const satisfies Partial<TrainRequest>;

function specOf(d: TrainingDraft, override: { param: SweepParam; value: number } | null): SAESpec {
  const get = (param: SweepParam, text: string) => (override?.param === param ? override.value : parseNumber(text));
  const kFamily = isKFamily(d.architecture);
  const spec: SAESpec = {
    ...SPEC_DEFAULTS,
    architecture: d.architecture,
    expansion_factor: d.widthMode === "expansion" ? get("expansion_factor", d.expansionFactor) : null,
    width: d.widthMode === "width" ? parseNumber(d.width) : null,
    k: kFamily ? get("k", d.k) : null,
    lr: get("lr", d.lr),
    schedule: d.schedule,
    warmup_steps: parseNumber(d.warmupSteps),
  };
  if (!kFamily) spec.sparsity_coefficient = get("sparsity_coefficient", d.sparsityCoefficient);
  return spec;
}

/** The request of a valid draft: one SAE, or one per swept value. */
export function toRequest(d: TrainingDraft): TrainRequest {
  const values = sweepList(d);
  const saes = values.length ? values.map((value) => specOf(d, { param: d.sweepParam, value })) : [specOf(d, null)];
  return {
    ...RUN_DEFAULTS,
    extraction_id: d.extractionId,
    hook_point: d.hookPoint,
    target_hook_point: d.targetHookPoint || null,
    name: d.name.trim() || null,
    saes,
    steps: d.lengthMode === "steps" ? parseNumber(d.steps) : null,
    total_tokens: d.lengthMode === "tokens" ? parseNumber(d.totalTokens) : null,
    batch_tokens: parseNumber(d.batchTokens),
    seed: parseNumber(d.seed),
    log_every: parseNumber(d.logEvery),
    checkpoint_every: d.checkpointEvery.trim() === "" ? null : parseNumber(d.checkpointEvery),
    evaluate_in_model: d.evaluateInModel,
  };
}

/**
 * The form field a server error names: `details.field` of a 400 (`saes[0].k` → k), or the body field of a 422's
 * first problem (`body.saes.0.lr` → lr). A swept parameter's error goes to the sweep's values. Null when it names
 * none the form has.
 */
export function fieldOfError(e: unknown, sweepParam: SweepParam = "none"): DraftField | null {
  if (!isApiError(e)) return null;
  const details = e.details;
  let raw: unknown = null;
  if (details && typeof details === "object" && !Array.isArray(details)) raw = (details as Record<string, unknown>).field;
  else if (Array.isArray(details) && details[0] && typeof details[0] === "object") raw = (details[0] as Record<string, unknown>).field;
  if (typeof raw !== "string") return null;
  let field = raw.replace(/^body\./, "");
  const member = /^saes(?:\[\d+\]|\.\d+)\.(.+)$/.exec(field);
  if (member) field = member[1]!;
  if (sweepParam !== "none" && field === sweepParam) return "sweep";
  return isOneOf(FIELDS, field) ? (field as DraftField) : null;
}

// --- the estimate ------------------------------------------------------------------------------------------

export interface SizeEstimate {
  /** Per SAE of the run (one, or one per swept value). */
  parameters: number[];
  totalParameters: number;
  /** Weights, gradients and Adam's two moments, fp32: 16 bytes a parameter. */
  trainingBytes: number;
  /** steps × batch tokens, when the run's length is given in steps; the tokens given otherwise; null: 2 epochs. */
  tokens: number | null;
}

/** What the run's SAEs weigh, computed here (2·d·width weights plus the biases); null while the shape is unknown. */
export function estimateSize(d: TrainingDraft, dIn: number | null): SizeEstimate | null {
  if (dIn === null) return null;
  const expansions = d.sweepParam === "expansion_factor" ? sweepList(d) : [undefined];
  const widths = expansions.map((e) => widthOf(d, dIn, e));
  if (widths.some((w) => w === null)) return null;
  const members = Math.max(1, sweepList(d).length);
  const parameters = d.sweepParam === "expansion_factor" ? (widths as number[]).map((w) => 2 * dIn * w + w + dIn) : Array.from({ length: members }, () => 2 * dIn * widths[0]! + widths[0]! + dIn);
  const totalParameters = parameters.reduce((a, b) => a + b, 0);
  const batch = parseNumber(d.batchTokens);
  const tokens =
    d.lengthMode === "steps" ? parseNumber(d.steps) * batch : d.lengthMode === "tokens" ? parseNumber(d.totalTokens) : null;
  return { parameters, totalParameters, trainingBytes: totalParameters * 16, tokens: tokens !== null && Number.isFinite(tokens) ? tokens : null };
}

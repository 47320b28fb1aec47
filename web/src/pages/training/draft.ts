/**
 * The training form's state, its presets and its checks (the server's, run before asking it). The request it
 * makes, and how a refusal maps back onto its fields: `request.ts`.
 */
import { isKFamily, sparsityPenalty, type SAEArchitecture, type Schedule, type StreamFormat } from "../../api/training";

/** The server's bounds (training/schemas.py), mirrored so the form says what is wrong before asking. */
export const LIMITS = {
  maxSweep: 8,
  expansionFactor: [1, 256],
  width: [1, 2 ** 24],
  k: [1, 2 ** 24],
  sparsityCoefficient: [0, 1e6],
  batchTokens: [1, 2 ** 22],
  seed: [0, 2 ** 31 - 1],
  forwardBatchSize: [1, 4096],
  safeInt: Number.MAX_SAFE_INTEGER,
} as const;

export type WidthMode = "expansion" | "width";
/** Where the activations come from: a stored extraction, or the model run on a tokenization as training reads. */
export type SourceKind = "extraction" | "stream";
/** How long the run is: a number of steps, of tokens, or the server's default (2 epochs of the data). */
export type LengthMode = "steps" | "tokens" | "epochs";
/** What a sweep varies, one SAE per value: a number of the SAE, or the hook point it reads (one read for all). */
export type SweepParam = "none" | "k" | "expansion_factor" | "lr" | "sparsity_coefficient" | "hook_point";
export const SWEEP_LABELS: Record<SweepParam, string> = {
  none: "no sweep (one SAE)",
  k: "k",
  expansion_factor: "expansion factor",
  lr: "learning rate",
  sparsity_coefficient: "sparsity coefficient",
  hook_point: "hook point",
};

/** Numbers are kept as typed (strings) so half-typed values like "4e-" stay in the box; they are checked on the way out. */
export interface TrainingDraft {
  source: SourceKind;
  extractionId: string;
  /** The streamed source: the model, its dataset's tokenization, the format it runs in. */
  modelId: string;
  datasetId: string;
  tokenizationId: string;
  format: StreamFormat;
  /** Sequences per forward pass (a power of 2). */
  forwardBatchSize: string;
  /** "": every sequence of the tokenization. */
  maxSamples: string;
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
  "model_id",
  "dataset_id",
  "tokenization_id",
  "format",
  "forward_batch_size",
  "max_samples",
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
    source: "extraction",
    extractionId: "",
    modelId: "",
    datasetId: "",
    tokenizationId: "",
    format: "fp32",
    forwardBatchSize: "8",
    maxSamples: "",
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
  return isKFamily(architecture) ? ["none", "k", "expansion_factor", "lr", "hook_point"] : ["none", "expansion_factor", "lr", "sparsity_coefficient", "hook_point"];
}

// --- checks -----------------------------------------------------------------------------------------------

/** A typed number, or NaN for anything that is not one ("", "4e-", "1x"). */
export function parseNumber(text: string): number {
  const t = text.trim();
  return t === "" ? Number.NaN : Number(t);
}

const isIntIn = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
const fmt = (n: number) => n.toLocaleString("en-US");

/** The sweep's values as typed (empty without a sweep): numbers, or hook point names. */
export function sweepTexts(d: Pick<TrainingDraft, "sweepParam" | "sweepValues">): string[] {
  if (d.sweepParam === "none") return [];
  return d.sweepValues.split(/[\s,;/]+/).filter(Boolean);
}

/** The sweep's values as numbers (NaN where one is not). */
export function sweepList(d: Pick<TrainingDraft, "sweepParam" | "sweepValues">): number[] {
  return sweepTexts(d).map(parseNumber);
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
 * What is wrong before asking the server (`hookPoints`: those of the chosen extraction, or of the streamed model;
 * `dIn`: their width, for k ≤ width). The same rules as the server's, so a request that passes is refused only for
 * what the server alone knows (e.g. a batch larger than the data).
 */
export function validateDraft(d: TrainingDraft, hookPoints: readonly string[] | null, dIn: number | null): DraftErrors {
  const streamed = d.source === "stream";
  const errors: DraftErrors = streamed ? checkStream(d) : d.extractionId ? {} : { extraction_id: "Choose a completed extraction." };
  // The hook points come with the source (the extraction's, the model's): nothing to say of them before it is chosen.
  const sourceChosen = streamed ? Boolean(d.modelId) : Boolean(d.extractionId);
  if (sourceChosen && !d.hookPoint) errors.hook_point = "Choose the hook point to train on.";
  else if (sourceChosen && hookPoints && !hookPoints.includes(d.hookPoint))
    errors.hook_point = streamed ? "Not a hook point of the model." : `The extraction has ${hookPoints.join(", ")}.`;
  if (d.targetHookPoint && hookPoints && !hookPoints.includes(d.targetHookPoint)) errors.target_hook_point = `Not a hook point of ${streamed ? "the model" : "this extraction"}.`;
  if (d.name.length > 255) errors.name = "At most 255 characters.";

  const sweeping = d.sweepParam !== "none";
  const values = sweepList(d);
  // (a hook point sweep's values are names: `values` holds NaN for them and is read only for the numbers' checks)
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
  if (d.sweepParam === "hook_point" && !errors.sweep) {
    const unknown = hookPoints ? sweepTexts(d).find((p) => !hookPoints.includes(p)) : undefined;
    if (unknown !== undefined) errors.sweep = `${unknown} is not a hook point of ${streamed ? "the model" : "this extraction"}.`;
  } else if (sweeping && !errors.sweep) {
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

function checkStream(d: TrainingDraft): DraftErrors {
  const errors: DraftErrors = {};
  if (!d.modelId) errors.model_id = "Choose a ready model.";
  if (!d.datasetId) errors.dataset_id = "Choose a dataset.";
  else if (!d.tokenizationId) errors.tokenization_id = "Choose a ready tokenization of the dataset.";
  const batch = parseNumber(d.forwardBatchSize);
  const [lo, hi] = LIMITS.forwardBatchSize;
  if (!isIntIn(batch, lo, hi) || (batch & (batch - 1)) !== 0) errors.forward_batch_size = `A power of 2 from ${lo} to ${fmt(hi)}.`;
  if (d.maxSamples.trim() !== "" && !isIntIn(parseNumber(d.maxSamples), 1, LIMITS.safeInt)) errors.max_samples = "At least 1 sequence, or empty for all.";
  return errors;
}

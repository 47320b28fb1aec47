import { useMemo, useState } from "react";
import { Loader2, Play } from "lucide-react";
import { messageOf } from "../../api/client";
import { ARCHITECTURE_LABELS, ARCHITECTURES, isKFamily, SCHEDULES, sparsityPenalty, type SAEArchitecture, type Schedule } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { formatInteger } from "../../lib/format";
import { useTrainings } from "../../stores/training";
import { useToasts } from "../../stores/toasts";
import {
  applyPreset,
  initialDraft,
  PRESETS,
  SWEEP_LABELS,
  sweepParams,
  sweepTexts,
  validateDraft,
  widthOf,
  type DraftErrors,
  type LengthMode,
  type SweepParam,
  type TrainingDraft,
} from "./draft";
import { EstimatePanel, useTrainingEstimate } from "./EstimatePanel";
import { Segmented, Select, TextField } from "./FormControls";
import { fieldOfError, toRequest } from "./request";
import { SourceFields } from "./SourceFields";
import { useTrainingSource } from "./useTrainingSource";

/** Where an error goes: next to the field it names, else under the Start button. */
function placed(e: unknown, sweepParam: SweepParam): { field: DraftErrors; general: string | null } {
  if (!e) return { field: {}, general: null };
  const f = fieldOfError(e, sweepParam);
  return f ? { field: { [f]: messageOf(e) }, general: null } : { field: {}, general: messageOf(e) };
}

/**
 * The new-run form: data (a stored extraction or a stream from the model, hook points), the SAE (presets,
 * architecture, width, sparsity, optimisation, sweep), the run's length and logging, and the server's live estimate.
 */
export function TrainingForm({ initialExtractionId, onStarted }: { initialExtractionId?: string | null; onStarted?: (id: string) => void }) {
  const [draft, setDraft] = useState<TrainingDraft>(initialDraft);
  const [startError, setStartError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const start = useTrainings((s) => s.start);
  const patch = (p: Partial<TrainingDraft>) => {
    setDraft((d) => ({ ...d, ...p }));
    setStartError(null);
  };

  const source = useTrainingSource(draft);
  const { hookPoints, dIn } = source;
  const clientErrors = validateDraft(draft, hookPoints, dIn);
  const valid = Object.keys(clientErrors).length === 0;
  const request = useMemo(() => (valid ? toRequest(draft) : null), [valid, draft]);
  const { estimate, loading: estimating, error: estimateError } = useTrainingEstimate(request);
  // The server's refusals: the estimate's as the form changes, the start's on Start; each next to its field.
  const fromEstimate = placed(estimateError, draft.sweepParam);
  const fromStart = placed(startError, draft.sweepParam);
  const errors: DraftErrors = { ...clientErrors, ...fromEstimate.field, ...fromStart.field };
  const refused = Object.keys(fromEstimate.field).length > 0;
  const penalty = sparsityPenalty(draft.architecture);
  const kFamily = isKFamily(draft.architecture);
  const width = widthOf(draft, dIn);
  const sweepOptions = sweepParams(draft.architecture);
  const members = Math.max(1, sweepTexts(draft).length);
  const sweepingHooks = draft.sweepParam === "hook_point";

  const onStart = async () => {
    if (!request) return;
    setStarting(true);
    setStartError(null);
    try {
      const t = await start(request);
      useToasts.getState().push({ kind: "info", title: `Training ${t.name}`, message: `${t.members.length} SAE(s), ${formatInteger(t.total_steps)} steps` });
      onStarted?.(t.id);
    } catch (e) {
      setStartError(e);
    } finally {
      setStarting(false);
    }
  };

  return (
    <Card
      title="New training"
      data-testid="train-form"
      actions={
        <div className="flex flex-wrap items-center gap-1" role="group" aria-label="Presets">
          <span className="mr-1 text-[11px] text-zinc-500">Presets</span>
          {PRESETS.map((p) => (
            <Button key={p.id} size="sm" variant="ghost" className="border-zinc-700" onClick={() => patch(applyPreset(draft, p))} data-testid={`train-preset-${p.id}`}>
              {p.label}
            </Button>
          ))}
        </div>
      }
    >
      <div className="grid gap-4 lg:grid-cols-3">
        <SourceFields draft={draft} patch={patch} errors={errors} source={source} initialExtractionId={initialExtractionId} />

        <fieldset className="space-y-3">
          <legend className="mb-2 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">SAE</legend>
          <Select
            label="Architecture"
            value={draft.architecture}
            options={ARCHITECTURES.map((a) => ({ value: a, label: ARCHITECTURE_LABELS[a] }))}
            onChange={(architecture: SAEArchitecture) =>
              patch({ architecture, ...(sweepParams(architecture).includes(draft.sweepParam) ? {} : { sweepParam: "none", sweepValues: "" }) })
            }
            error={errors.architecture}
            testId="train-architecture"
          />
          <div className="space-y-1">
            <div className="flex items-center justify-between">
              <span className="text-xs font-medium text-zinc-300">Width</span>
              <Segmented
                label="Width given as"
                value={draft.widthMode}
                options={[
                  { value: "expansion", label: "× d" },
                  { value: "width", label: "latents" },
                ]}
                onChange={(widthMode) => patch({ widthMode, ...(widthMode === "width" && !draft.width && width ? { width: String(width) } : {}) })}
                testId="train-width-mode"
              />
            </div>
            {draft.widthMode === "expansion" ? (
              <TextField
                label={<span className="sr-only">Expansion factor</span>}
                value={draft.expansionFactor}
                onChange={(expansionFactor) => patch({ expansionFactor })}
                error={errors.expansion_factor ?? errors.width}
                hint={width !== null ? `expansion factor: ${formatInteger(width)} latents` : "expansion factor × d of the hook point"}
                testId="train-expansion-factor"
                disabled={draft.sweepParam === "expansion_factor"}
              />
            ) : (
              <TextField label={<span className="sr-only">Width in latents</span>} value={draft.width} onChange={(w) => patch({ width: w })} error={errors.width} hint="the number of latents" testId="train-width" />
            )}
          </div>
          <div className="grid grid-cols-2 gap-2">
            {kFamily ? (
              <TextField label="k" value={draft.k} onChange={(k) => patch({ k })} error={errors.k} hint={width !== null ? `active latents per token, ≤ ${formatInteger(width)}` : "active latents per token"} testId="train-k" disabled={draft.sweepParam === "k"} />
            ) : (
              <TextField
                label={`${penalty} coefficient`}
                value={draft.sparsityCoefficient}
                onChange={(sparsityCoefficient) => patch({ sparsityCoefficient })}
                error={errors.sparsity_coefficient}
                hint={penalty === "L0" ? "weight of the L0 penalty" : "weight of the L1 penalty"}
                testId="train-sparsity"
                disabled={draft.sweepParam === "sparsity_coefficient"}
              />
            )}
            <TextField label="Learning rate" value={draft.lr} onChange={(lr) => patch({ lr })} error={errors.lr} hint="above 0, at most 1" testId="train-lr" disabled={draft.sweepParam === "lr"} />
            <Select
              label="Schedule"
              value={draft.schedule}
              options={SCHEDULES.map((s) => ({ value: s, label: s }))}
              onChange={(schedule: Schedule) => patch({ schedule })}
              error={errors.schedule}
              testId="train-schedule"
            />
            <TextField label="Warm-up steps" value={draft.warmupSteps} onChange={(warmupSteps) => patch({ warmupSteps })} error={errors.warmup_steps} hint="lr ramps up linearly" testId="train-warmup" />
          </div>
          <div className="grid grid-cols-[auto_1fr] gap-2">
            <Select
              label="Sweep"
              value={draft.sweepParam}
              options={sweepOptions.map((p) => ({ value: p, label: SWEEP_LABELS[p] }))}
              onChange={(sweepParam) =>
                patch({
                  sweepParam,
                  // Numbers and hook point names do not carry over; a hook point sweep starts from the chosen one.
                  sweepValues: sweepParam === "hook_point" ? draft.hookPoint : sweepParam === "none" || sweepingHooks ? "" : draft.sweepValues,
                  ...(sweepParam === "hook_point" ? { targetHookPoint: "" } : {}),
                })
              }
              testId="train-sweep-param"
            />
            <TextField
              label="Values"
              value={draft.sweepValues}
              onChange={(sweepValues) => patch({ sweepValues })}
              error={errors.sweep}
              hint={
                draft.sweepParam === "none"
                  ? "one SAE per value, over one read of the data"
                  : `${members} SAEs over one read of the data${sweepingHooks && draft.source === "stream" ? " (one forward pass)" : ""}`
              }
              placeholder={draft.sweepParam === "none" ? "—" : sweepingHooks ? "blocks.0.resid_post, blocks.1.resid_post" : "16, 32, 64"}
              testId="train-sweep-values"
            />
          </div>
        </fieldset>

        <fieldset className="space-y-3">
          <legend className="mb-2 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">Run</legend>
          <div className="space-y-1">
            <div className="flex items-center justify-between">
              <span className="text-xs font-medium text-zinc-300">Length</span>
              <Segmented<LengthMode>
                label="Length given as"
                value={draft.lengthMode}
                options={[
                  { value: "steps", label: "steps" },
                  { value: "tokens", label: "tokens" },
                  { value: "epochs", label: "2 epochs" },
                ]}
                onChange={(lengthMode) => patch({ lengthMode })}
                testId="train-length-mode"
              />
            </div>
            {draft.lengthMode === "steps" ? (
              <TextField label={<span className="sr-only">Steps</span>} value={draft.steps} onChange={(steps) => patch({ steps })} error={errors.steps} hint="optimizer steps" testId="train-steps" />
            ) : draft.lengthMode === "tokens" ? (
              <TextField label={<span className="sr-only">Tokens</span>} value={draft.totalTokens} onChange={(totalTokens) => patch({ totalTokens })} error={errors.total_tokens} hint="tokens to train on" testId="train-total-tokens" />
            ) : (
              <p className="text-[11px] text-zinc-500">Two passes over the training tokens (after the hold-out split).</p>
            )}
          </div>
          <div className="grid grid-cols-2 gap-2">
            <TextField label="Batch tokens" value={draft.batchTokens} onChange={(batchTokens) => patch({ batchTokens })} error={errors.batch_tokens} hint="tokens per step" testId="train-batch-tokens" />
            <TextField label="Seed" value={draft.seed} onChange={(seed) => patch({ seed })} error={errors.seed} testId="train-seed" />
            <TextField label="Log every" value={draft.logEvery} onChange={(logEvery) => patch({ logEvery })} error={errors.log_every} hint="steps per chart point" testId="train-log-every" />
            <TextField label="Checkpoint every" value={draft.checkpointEvery} onChange={(checkpointEvery) => patch({ checkpointEvery })} error={errors.checkpoint_every} hint="steps; empty: none" testId="train-checkpoint-every" />
          </div>
          <label className="flex items-center gap-2 text-xs text-zinc-300">
            <input type="checkbox" className="accent-sky-500" checked={draft.evaluateInModel} onChange={(e) => patch({ evaluateInModel: e.target.checked })} data-testid="train-evaluate" />
            Evaluate in the model at the end (CE loss recovered, KL)
          </label>
        </fieldset>
      </div>
      <div className="mt-4 space-y-2 border-t border-zinc-800 pt-3">
        <EstimatePanel
          estimate={estimate}
          loading={estimating}
          error={fromEstimate.general}
          streamed={draft.source === "stream"}
          idle={valid && !refused ? "Estimating…" : "The estimate appears once the data is chosen and the settings marked above are fixed."}
        />
        <div className="flex flex-wrap items-center gap-2">
          <Button variant="primary" disabled={!valid || refused || starting} onClick={() => void onStart()} data-testid="train-start">
            {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Play className="size-3.5" aria-hidden />} Start training
            {members > 1 ? ` (${members} SAEs)` : ""}
          </Button>
          {(!valid || refused) && <span className="text-xs text-zinc-500">Fix the settings marked above to start.</span>}
        </div>
        {fromStart.general && <FormError testId="train-start-error">{fromStart.general}</FormError>}
      </div>
    </Card>
  );
}

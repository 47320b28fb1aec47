import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Loader2, Play } from "lucide-react";
import { messageOf } from "../../api/client";
import type { Extraction } from "../../api/extraction";
import { ARCHITECTURE_LABELS, ARCHITECTURES, isKFamily, SCHEDULES, sparsityPenalty, trainingApi, type SAEArchitecture, type Schedule } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { formatBytes, formatCount, formatInteger } from "../../lib/format";
import { useConnection } from "../../stores/live";
import { useTrainings } from "../../stores/training";
import { useToasts } from "../../stores/toasts";
import {
  applyPreset,
  estimateSize,
  fieldOfError,
  initialDraft,
  PRESETS,
  SWEEP_LABELS,
  sweepList,
  sweepParams,
  toRequest,
  validateDraft,
  widthOf,
  type DraftErrors,
  type LengthMode,
  type SweepParam,
  type TrainingDraft,
} from "./draft";

/** The completed extractions a run can train on, loaded now and on every (re)connect. */
export function useCompletedExtractions(): { extractions: Extraction[]; loading: boolean; error: string | null } {
  const epoch = useConnection((s) => s.epoch);
  const [extractions, setExtractions] = useState<Extraction[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    trainingApi
      .completedExtractions(ctrl.signal)
      .then((page) => {
        if (ctrl.signal.aborted) return;
        setExtractions(page.items);
        setError(null);
        setLoading(false);
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setError(messageOf(e));
        setLoading(false);
      });
    return () => ctrl.abort();
  }, [epoch]);
  return { extractions, loading, error };
}

/** A labelled text box for one field of the draft, with its error (client's or server's) under it. */
function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  testId,
  placeholder,
  className,
  disabled,
}: {
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: ReactNode;
  testId: string;
  placeholder?: string;
  className?: string;
  /** A swept parameter: the sweep's values replace this box's. */
  disabled?: boolean;
}) {
  return (
    <div className={className} data-testid={`${testId}-field`}>
      <Field label={label} error={error} hint={hint} data-testid={`${testId}-field`}>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            className={`${inputClass} font-mono`}
            value={disabled ? "" : value}
            placeholder={disabled ? "swept" : placeholder}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid={testId}
          />
        )}
      </Field>
    </div>
  );
}

function Select<T extends string>({
  label,
  value,
  options,
  onChange,
  error,
  hint,
  testId,
  disabled,
}: {
  label: ReactNode;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange: (v: T) => void;
  error?: string;
  hint?: ReactNode;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <div data-testid={`${testId}-field`}>
      <Field label={label} error={error} hint={hint} data-testid={`${testId}-field`}>
        {({ id, describedBy, invalid }) => (
          <select
            id={id}
            className={inputClass}
            value={value}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value as T)}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            data-testid={testId}
          >
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}

function Segmented<T extends string>({ label, value, options, onChange, testId }: { label: string; value: T; options: readonly { value: T; label: string }[]; onChange: (v: T) => void; testId: string }) {
  return (
    <div role="radiogroup" aria-label={label} className="inline-flex rounded border border-zinc-700 text-[11px]" data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={value === o.value}
          onClick={() => onChange(o.value)}
          className={value === o.value ? "bg-zinc-700 px-2 py-0.5 text-zinc-50" : "px-2 py-0.5 text-zinc-400 hover:text-zinc-200"}
          data-testid={`${testId}-${o.value}`}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** The client-side size of the run's SAEs, labelled as the estimate it is. */
function Estimate({ draft, dIn }: { draft: TrainingDraft; dIn: number | null }) {
  const size = estimateSize(draft, dIn);
  if (!size) return <p className="text-xs text-zinc-500" data-testid="train-estimate">Choose an extraction and a valid width to see the estimate.</p>;
  const n = size.parameters.length;
  return (
    <p className="text-xs text-zinc-400" data-testid="train-estimate">
      <span className="text-zinc-500">Estimate: </span>
      <span className="font-mono text-zinc-200">{formatCount(size.parameters[0])}</span> parameters (2·d·width)
      {n > 1 && (
        <>
          {" "}
          per SAE, <span className="font-mono text-zinc-200">{formatCount(size.totalParameters)}</span> for the {n} SAEs
        </>
      )}{" "}
      · Adam state 2× that · ≈ <span className="font-mono text-zinc-200" data-testid="train-estimate-memory">{formatBytes(size.trainingBytes)}</span> for weights,
      gradients and optimizer (fp32)
      {size.tokens !== null && (
        <>
          {" "}
          · <span className="font-mono text-zinc-200">{formatCount(size.tokens)}</span> tokens
        </>
      )}
    </p>
  );
}

/** Where an error goes: next to the field it names, else under the Start button. */
function placed(e: unknown, sweepParam: SweepParam): { field: DraftErrors; general: string | null } {
  if (!e) return { field: {}, general: null };
  const f = fieldOfError(e, sweepParam);
  return f ? { field: { [f]: messageOf(e) }, general: null } : { field: {}, general: messageOf(e) };
}

/** The new-run form: data (extraction, hook points), the SAE (presets, architecture, width, sparsity, optimisation, sweep), the run's length and logging. */
export function TrainingForm({ initialExtractionId, onStarted }: { initialExtractionId?: string | null; onStarted?: (id: string) => void }) {
  const { extractions, loading, error: loadError } = useCompletedExtractions();
  const [draft, setDraft] = useState<TrainingDraft>(initialDraft);
  const [startError, setStartError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const start = useTrainings((s) => s.start);
  const patch = (p: Partial<TrainingDraft>) => {
    setDraft((d) => ({ ...d, ...p }));
    setStartError(null);
  };

  const extraction = extractions.find((e) => e.id === draft.extractionId) ?? null;
  // The first completed extraction (or the one the link names), and its first hook point.
  useEffect(() => {
    if (loading || extraction) return;
    const chosen = extractions.find((e) => e.id === initialExtractionId) ?? extractions[0];
    if (chosen) patch({ extractionId: chosen.id, hookPoint: chosen.hook_points[0] ?? "", targetHookPoint: "" });
  }, [loading, extractions, initialExtractionId]);

  const hookPoints = extraction?.hook_points ?? null;
  const dIn = extraction?.d_model ?? null;
  const clientErrors = validateDraft(draft, hookPoints, dIn);
  const fromStart = placed(startError, draft.sweepParam);
  const errors: DraftErrors = { ...clientErrors, ...fromStart.field };
  const valid = Object.keys(clientErrors).length === 0;
  const penalty = sparsityPenalty(draft.architecture);
  const kFamily = isKFamily(draft.architecture);
  const width = widthOf(draft, dIn);
  const sweepOptions = sweepParams(draft.architecture);
  const members = Math.max(1, sweepList(draft).length);

  const onStart = async () => {
    if (!valid) return;
    setStarting(true);
    setStartError(null);
    try {
      const t = await start(toRequest(draft));
      useToasts.getState().push({ kind: "info", title: `Training ${t.name}`, message: `${t.members.length} SAE(s), ${formatInteger(t.total_steps)} steps` });
      onStarted?.(t.id);
    } catch (e) {
      setStartError(e);
    } finally {
      setStarting(false);
    }
  };

  const extractionOptions = useMemo(
    () => [
      ...(draft.extractionId ? [] : [{ value: "", label: loading ? "Loading…" : "No completed extraction yet" }]),
      ...extractions.map((e) => ({ value: e.id, label: `${e.name} · ${e.model_name}` })),
    ],
    [extractions, loading, draft.extractionId],
  );

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
        <fieldset className="space-y-3">
          <legend className="mb-2 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">Data</legend>
          <Select
            label="Extraction"
            value={draft.extractionId}
            options={extractionOptions}
            disabled={extractions.length === 0}
            onChange={(id) => {
              const e = extractions.find((x) => x.id === id);
              patch({ extractionId: id, hookPoint: e?.hook_points[0] ?? "", targetHookPoint: "" });
            }}
            error={loadError ?? errors.extraction_id}
            hint={extraction ? `${formatInteger(extraction.samples_done)} samples × ${extraction.seq_len ?? "?"} tokens · d ${extraction.d_model ?? "?"}` : "a completed extraction of a model"}
            testId="train-extraction"
          />
          <Select
            label="Hook point"
            value={draft.hookPoint}
            options={(hookPoints ?? []).map((p) => ({ value: p, label: p }))}
            disabled={!hookPoints}
            onChange={(hookPoint) => patch({ hookPoint, targetHookPoint: draft.targetHookPoint === hookPoint ? "" : draft.targetHookPoint })}
            error={errors.hook_point}
            hint="the activations the SAE reads"
            testId="train-hook-point"
          />
          <Select
            label="Target hook point"
            value={draft.targetHookPoint}
            options={[{ value: "", label: "— none: an SAE (reconstructs its input)" }, ...(hookPoints ?? []).filter((p) => p !== draft.hookPoint).map((p) => ({ value: p, label: `${p} (transcoder)` }))]}
            disabled={!hookPoints}
            onChange={(targetHookPoint) => patch({ targetHookPoint })}
            error={errors.target_hook_point}
            hint="optional: a transcoder predicts this hook point from the one above"
            testId="train-target-hook-point"
          />
          <TextField label="Name" value={draft.name} onChange={(name) => patch({ name })} error={errors.name} hint="optional: made from the settings when empty" testId="train-name" placeholder="topk_4608_blocks.6.resid_post_…" />
        </fieldset>

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
              onChange={(sweepParam) => patch({ sweepParam, sweepValues: sweepParam === "none" ? "" : draft.sweepValues })}
              testId="train-sweep-param"
            />
            <TextField
              label="Values"
              value={draft.sweepValues}
              onChange={(sweepValues) => patch({ sweepValues })}
              error={errors.sweep}
              hint={draft.sweepParam === "none" ? "one SAE per value, over one read of the data" : `${members} SAEs over one read of the data`}
              placeholder={draft.sweepParam === "none" ? "—" : "16, 32, 64"}
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
              <p className="text-[11px] text-zinc-500">Two passes over the extraction's training tokens.</p>
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
        <Estimate draft={draft} dIn={dIn} />
        <div className="flex flex-wrap items-center gap-2">
          <Button variant="primary" disabled={!valid || starting} onClick={() => void onStart()} data-testid="train-start">
            {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Play className="size-3.5" aria-hidden />} Start training
            {members > 1 ? ` (${members} SAEs)` : ""}
          </Button>
          {!valid && <span className="text-xs text-zinc-500">Fix the settings marked above to start.</span>}
        </div>
        {fromStart.general && <FormError testId="train-start-error">{fromStart.general}</FormError>}
      </div>
    </Card>
  );
}

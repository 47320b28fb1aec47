import { useEffect, useId, useState } from "react";
import { HOOK_TYPE_LABELS, HOOK_TYPES, type HookType } from "../../api/extraction";
import { Button } from "../../components/Button";
import { inputClass } from "../../components/Field";
import { cn } from "../../lib/cn";
import { everyNth, formatLayerSpec, parseLayerSpec } from "./layers";

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** One checkbox per layer, all/none, a typed range ("3-6,15,29") and "every Nth". */
export function LayerSelector({
  numLayers,
  layers,
  onChange,
  error,
}: {
  numLayers: number;
  layers: number[];
  onChange: (layers: number[]) => void;
  error?: string | undefined;
}) {
  const [text, setText] = useState(() => formatLayerSpec(layers));
  const [textError, setTextError] = useState<string | null>(null);
  const [step, setStep] = useState("4");
  const rangeId = useId();
  const stepId = useId();
  const errorId = useId();

  // A change from the checkboxes (or a template) rewrites the text, unless the text already says it.
  useEffect(() => {
    const parsed = parseLayerSpec(text, numLayers);
    if (!parsed.layers || !same(parsed.layers, layers)) {
      setText(formatLayerSpec(layers));
      setTextError(null);
    }
  }, [layers, numLayers]);

  const typed = (value: string) => {
    setText(value);
    const parsed = parseLayerSpec(value, numLayers);
    setTextError(parsed.error);
    if (parsed.layers) onChange(parsed.layers);
  };
  const toggle = (layer: number, on: boolean) =>
    onChange(on ? [...layers, layer].sort((a, b) => a - b) : layers.filter((l) => l !== layer));
  const stepNumber = Number(step);
  const shown = textError ?? error;

  return (
    <fieldset className="space-y-2" data-testid="extract-layers" aria-describedby={shown ? errorId : undefined}>
      <legend className="mb-1 text-xs font-medium text-zinc-300">
        Layers <span className="font-normal text-zinc-500">({layers.length} of {numLayers})</span>
      </legend>
      <div className="flex flex-wrap items-center gap-1.5">
        <Button size="sm" onClick={() => onChange(everyNth(1, numLayers))} data-testid="extract-layers-all">
          All
        </Button>
        <Button size="sm" onClick={() => onChange([])} data-testid="extract-layers-none">
          None
        </Button>
        <span className="ml-auto flex items-center gap-1 text-[11px] text-zinc-400">
          <label htmlFor={stepId}>every</label>
          <input
            id={stepId}
            className={cn(inputClass, "max-w-10 py-0.5 text-center text-xs")}
            inputMode="numeric"
            value={step}
            onChange={(e) => setStep(e.target.value.replace(/\D/g, ""))}
            data-testid="extract-layers-step"
          />
          <span>th layer</span>
          <Button
            size="sm"
            disabled={!Number.isInteger(stepNumber) || stepNumber < 1}
            onClick={() => onChange(everyNth(stepNumber, numLayers))}
            data-testid="extract-layers-every"
          >
            Select
          </Button>
        </span>
      </div>
      <div>
        <label htmlFor={rangeId} className="sr-only">
          Layers as ranges
        </label>
        <input
          id={rangeId}
          className={cn(inputClass, "font-mono text-xs")}
          value={text}
          placeholder="e.g. 3-6,15,29"
          onChange={(e) => typed(e.target.value)}
          aria-invalid={Boolean(shown)}
          data-testid="extract-layers-range"
        />
      </div>
      <div className="grid grid-cols-[repeat(auto-fill,minmax(3.25rem,1fr))] gap-1" role="group" aria-label="Layers">
        {Array.from({ length: numLayers }, (_, layer) => {
          const on = layers.includes(layer);
          return (
            <label
              key={layer}
              className={cn(
                "flex cursor-pointer items-center gap-1 rounded border px-1.5 py-0.5 font-mono text-[11px]",
                on ? "border-sky-700 bg-sky-950/60 text-sky-100" : "border-zinc-800 text-zinc-400 hover:border-zinc-600",
              )}
            >
              <input type="checkbox" className="accent-sky-500" checked={on} onChange={(e) => toggle(layer, e.target.checked)} data-testid={`extract-layer-${layer}`} />
              L{layer}
            </label>
          );
        })}
      </div>
      {shown && (
        <p id={errorId} className="text-[11px] text-red-300" role="alert" data-testid="extract-layers-error">
          {shown}
        </p>
      )}
    </fieldset>
  );
}

/** A checkbox per hook type; types this model's family lacks are disabled. */
export function HookPointPicker({
  available,
  value,
  onChange,
  error,
}: {
  /** Hook types the model has (null: not known yet, all allowed). */
  available: ReadonlySet<string> | null;
  value: HookType[];
  onChange: (value: HookType[]) => void;
  error?: string | undefined;
}) {
  return (
    <fieldset data-testid="extract-hooks">
      <legend className="mb-1 text-xs font-medium text-zinc-300">Hook points</legend>
      <div className="grid grid-cols-2 gap-1">
        {HOOK_TYPES.map((h) => {
          const disabled = available !== null && !available.has(h);
          return (
            <label key={h} className={cn("flex items-start gap-1.5 text-xs text-zinc-200", disabled && "opacity-40")} title={disabled ? "this model has no such hook point" : undefined}>
              <input
                type="checkbox"
                className="mt-0.5 accent-sky-500"
                checked={value.includes(h)}
                disabled={disabled}
                onChange={(e) => onChange(e.target.checked ? [...value, h] : value.filter((x) => x !== h))}
                data-testid={`extract-hook-${h}`}
              />
              <span>
                <span className="font-mono">{h}</span>
                <span className="block text-[10px] text-zinc-500">{HOOK_TYPE_LABELS[h]}</span>
              </span>
            </label>
          );
        })}
      </div>
      {error && (
        <p className="mt-1 text-[11px] text-red-300" role="alert" data-testid="extract-hooks-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

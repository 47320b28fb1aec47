import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import type { SteeringDraft } from "./draft";

type TextKey = "maxNewTokens" | "temperature" | "topP" | "seed";

const NUMBERS: { key: TextKey; label: string; hint?: string; min: number; max?: number; step?: number; testId: string }[] = [
  { key: "maxNewTokens", label: "Max new tokens", min: 1, max: 2048, testId: "steering-max-new-tokens" },
  { key: "temperature", label: "Temperature", hint: "0: greedy", min: 0, max: 5, step: 0.1, testId: "steering-temperature" },
  { key: "topP", label: "Top p", min: 0.01, max: 1, step: 0.05, testId: "steering-top-p" },
  { key: "seed", label: "Seed", hint: "both runs use it", min: 0, testId: "steering-seed" },
];

/** The prompt and the generation options both runs share, and the tokens whose probability shift to report. */
export function GenerationCard({ draft, onChange }: { draft: SteeringDraft; onChange: (patch: Partial<SteeringDraft>) => void }) {
  return (
    <Card title="Prompt" bodyClassName="space-y-3 p-3">
      <Field label="Prompt">
        {({ id }) => <textarea id={id} className={`${inputClass} min-h-24 font-mono`} value={draft.prompt} placeholder="The weather today is"
          onChange={(e) => onChange({ prompt: e.target.value })} data-testid="steering-prompt" />}
      </Field>
      <div className="grid grid-cols-2 gap-3">
        {NUMBERS.map((n) => (
          <Field key={n.key} label={n.label} hint={n.hint}>
            {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="number" min={n.min} max={n.max} step={n.step}
              className={inputClass} value={draft[n.key]} placeholder={n.key === "seed" ? "random" : undefined}
              onChange={(e) => onChange({ [n.key]: e.target.value })} data-testid={n.testId} />}
          </Field>
        ))}
      </div>
      <Field label="Tokens to watch" hint={'comma-separated; their probability shift is reported; quote one to keep its leading space (" king")'}>
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} className={inputClass} value={draft.watchTokens}
          placeholder="happy, sad" onChange={(e) => onChange({ watchTokens: e.target.value })} data-testid="steering-watch-tokens" />}
      </Field>
      <label className="flex items-center gap-2 text-xs text-zinc-300">
        <input type="checkbox" checked={draft.chatTemplate} onChange={(e) => onChange({ chatTemplate: e.target.checked })} />
        Use the chat template (when the model has one)
      </label>
    </Card>
  );
}

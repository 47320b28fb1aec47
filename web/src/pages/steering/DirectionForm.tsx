import { useState } from "react";
import { Loader2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { steeringApi, type Direction } from "../../api/steering";
import { Button } from "../../components/Button";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { Modal } from "../../components/Modal";

const lines = (text: string): string[] => text.split("\n").map((line) => line.trim()).filter((line) => line !== "");

export interface DirectionFormProps {
  open: boolean;
  modelId: string;
  defaultHookPoint: string;
  onClose: () => void;
  onCreated: (direction: Direction) => void;
}

/** A direction from contrastive pairs: mean of the positive prompts' activations minus the negatives', at a hook point. */
export function DirectionForm({ open, modelId, defaultHookPoint, onClose, onCreated }: DirectionFormProps) {
  const [name, setName] = useState("");
  const [hookPoint, setHookPoint] = useState(defaultHookPoint);
  const [positive, setPositive] = useState("");
  const [negative, setNegative] = useState("");
  const [reduce, setReduce] = useState<"last" | "mean">("last");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [positives, negatives] = [lines(positive), lines(negative)];
  const unequal = positives.length !== negatives.length && positives.length > 0 && negatives.length > 0;

  async function create(): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      const direction = await steeringApi.createDirection({ model_id: modelId, name: name.trim(), hook_point: hookPoint.trim(),
        positive: positives, negative: negatives, reduce, use_chat_template: false });
      onCreated(direction);
      onClose();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal open={open} title="New direction from contrastive pairs" onClose={onClose} size="lg" data-testid="direction-form"
      footer={<>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="primary" onClick={() => void create()} disabled={busy || !name.trim() || !positives.length || !negatives.length}
          data-testid="direction-create">
          {busy && <Loader2 className="size-4 animate-spin" aria-hidden />} Compute and save
        </Button>
      </>}>
      <div className="space-y-3">
        <div className="grid grid-cols-2 gap-3">
          <Field label="Name">
            {({ id }) => <input id={id} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} placeholder="happy − sad"
              data-testid="direction-name" data-autofocus />}
          </Field>
          <Field label="Hook point" hint="blocks.N.resid_pre | resid_post | mlp_out | attn_out">
            {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} className={inputClass} value={hookPoint}
              onChange={(e) => setHookPoint(e.target.value)} data-testid="direction-hook-point" />}
          </Field>
        </div>
        <div className="grid grid-cols-2 gap-3">
          <Field label={`Positive prompts (${positives.length})`} hint="one per line">
            {({ id, describedBy }) => <textarea id={id} aria-describedby={describedBy} className={`${inputClass} min-h-28 font-mono`}
              value={positive} onChange={(e) => setPositive(e.target.value)} placeholder={"I am so happy\nWhat a wonderful day"} data-testid="direction-positive" />}
          </Field>
          <Field label={`Negative prompts (${negatives.length})`} hint="one per line, paired with the positive of the same line"
            error={unequal ? `pairs need as many negative prompts as positive ones (${positives.length} vs ${negatives.length})` : null}>
            {({ id, describedBy, invalid }) => <textarea id={id} aria-describedby={describedBy} aria-invalid={invalid} className={`${inputClass} min-h-28 font-mono`}
              value={negative} onChange={(e) => setNegative(e.target.value)} placeholder={"I am so sad\nWhat a terrible day"} data-testid="direction-negative" />}
          </Field>
        </div>
        <label className="flex items-center gap-2 text-xs text-zinc-300">
          Read each prompt at
          <select className={`${inputClass} w-auto`} value={reduce} onChange={(e) => setReduce(e.target.value as "last" | "mean")}>
            <option value="last">its last token</option>
            <option value="mean">the mean over its tokens</option>
          </select>
        </label>
        {error && <FormError testId="direction-error">{error}</FormError>}
      </div>
    </Modal>
  );
}

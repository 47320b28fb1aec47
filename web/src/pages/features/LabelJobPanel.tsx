/** "Label with an LLM": queue a job that labels and scores latents, follow it live, and refresh the table when it ends. */
import { useEffect, useState, type FormEvent } from "react";
import { Loader2, Tags } from "lucide-react";
import { messageOf } from "../../api/client";
import { featuresApi, type LabelJobAccepted } from "../../api/features";
import { modelsApi } from "../../api/models";
import type { Model } from "../../api/types";
import { Button } from "../../components/Button";
import { CancelJobButton } from "../../components/CancelJobButton";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { ProgressBar } from "../../components/ProgressBar";
import { StatusBadge } from "../../components/StatusBadge";
import { useJobs } from "../../stores/jobs";
import { Segmented, Select, TextField } from "../training/FormControls";
import { FORMATS } from "./analyzeDraft";
import { initialLabelDraft, LABEL_SORTS, labelDraftErrors, labelRequest, type LabelDraft } from "./labelDraft";

/** The job's row as the jobs store has it (active, or among the recent finished ones). */
function useJob(id: string | null) {
  return useJobs((s) => (id ? (s.active[id] ?? s.recent.find((j) => j.id === id)) : undefined));
}

export function LabelJobPanel({ analysisId, onFinished }: { analysisId: string; onFinished: () => void }) {
  const [draft, setDraft] = useState<LabelDraft>(initialLabelDraft);
  const [models, setModels] = useState<Model[]>([]);
  const [started, setStarted] = useState<LabelJobAccepted | null>(null);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const job = useJob(started?.job_id ?? null);
  const finished = job !== undefined && !job.active;
  useEffect(() => {
    const ctrl = new AbortController();
    modelsApi
      .list({ ready: true, limit: 200 }, ctrl.signal)
      .then((page) => {
        setModels(page.items);
        setDraft((d) => (d.localModelId ? d : { ...d, localModelId: page.items[0]?.id ?? "" }));
      })
      .catch((e) => !ctrl.signal.aborted && setError(messageOf(e)));
    return () => ctrl.abort();
  }, []);
  // The labels are in the table once the job ends (whatever its outcome, some may have been written).
  useEffect(() => {
    if (finished) onFinished();
  }, [finished]);

  const errors = labelDraftErrors(draft);
  const change = (patch: Partial<LabelDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStarting(true);
    setError(null);
    try {
      setStarted(await featuresApi.label(analysisId, labelRequest(draft)));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setStarting(false);
    }
  };
  return (
    <form className="space-y-3" onSubmit={(e) => void submit(e)} data-testid="label-job-form" noValidate>
      <div className="flex flex-wrap items-center gap-2 text-xs text-zinc-400">
        Written by
        <Segmented
          label="Written by"
          value={draft.writer}
          onChange={(writer) => change({ writer })}
          options={[{ value: "local", label: "a studio model" }, { value: "endpoint", label: "an OpenAI-compatible endpoint" }]}
          testId="label-writer"
        />
      </div>
      {draft.writer === "local" ? (
        <div className="grid gap-2 sm:grid-cols-4">
          <div className="sm:col-span-3">
            <Select label="Model" value={draft.localModelId} options={models.map((m) => ({ value: m.id, label: m.name }))} onChange={(localModelId) => change({ localModelId })} error={errors.localModelId} testId="label-local-model" />
          </div>
          <Select label="Format" value={draft.format} options={FORMATS.map((f) => ({ value: f, label: f }))} onChange={(format) => change({ format })} testId="label-format" />
        </div>
      ) : (
        <div className="grid gap-2 sm:grid-cols-3">
          <TextField label="Endpoint" value={draft.endpoint} onChange={(endpoint) => change({ endpoint })} error={errors.endpoint} placeholder="http://localhost:8000/v1" testId="label-endpoint" />
          <TextField label="Model name" value={draft.model} onChange={(model) => change({ model })} error={errors.model} testId="label-model" />
          <Field label="API key" hint="Sent with this request only, never stored; empty: the server's MISTUDIO_LLM_API_KEY or OPENAI_API_KEY.">
            {({ id, describedBy }) => (
              <input id={id} type="password" autoComplete="off" aria-describedby={describedBy} className={inputClass} value={draft.apiKey} onChange={(e) => change({ apiKey: e.target.value })} data-testid="label-api-key" />
            )}
          </Field>
        </div>
      )}
      <div className="grid gap-2 sm:grid-cols-4">
        <TextField label="Latents" value={draft.top} onChange={(top) => change({ top })} error={errors.top} hint="the top N live ones" testId="label-top" />
        <Select label="Sorted by" value={draft.sort} options={LABEL_SORTS.map((s) => ({ value: s, label: s.replace("_", " ") }))} onChange={(sort) => change({ sort })} testId="label-sort" />
        <TextField label="Examples shown" value={draft.explainExamples} onChange={(explainExamples) => change({ explainExamples })} error={errors.explainExamples} hint="to the explainer" testId="label-explain" />
        <TextField label="Contexts scored" value={draft.scoreExamples} onChange={(scoreExamples) => change({ scoreExamples })} error={errors.scoreExamples} hint="detection and fuzzing" testId="label-score" />
      </div>
      {error && <FormError testId="label-job-error">{error}</FormError>}
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="primary" disabled={starting || Object.keys(errors).length > 0 || (job !== undefined && job.active)} data-testid="label-job-start">
          {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Tags className="size-3.5" aria-hidden />} Label and score
        </Button>
        {started && (
          <div className="flex min-w-0 flex-1 items-center gap-2 text-xs text-zinc-400" data-testid="label-job">
            {job && <StatusBadge status={job.status} data-testid="label-job-status" />}
            <span className="shrink-0">
              {started.latents.length} latents by {started.writer}
            </span>
            {job?.active && <ProgressBar value={job.progress} className="w-48" />}
            <span className="min-w-0 truncate" title={job?.error ?? job?.message ?? undefined}>
              {job?.error ?? job?.message ?? ""}
            </span>
            {job?.active && <CancelJobButton job={job} testId="label-job-cancel" />}
          </div>
        )}
      </div>
    </form>
  );
}

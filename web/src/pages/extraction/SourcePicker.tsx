import { useEffect, useState } from "react";
import { messageOf } from "../../api/client";
import { datasetsApi, type Dataset, type Tokenization } from "../../api/datasets";
import { Field, inputClass } from "../../components/Field";
import { formatInteger } from "../../lib/format";
import { Link } from "../../lib/router";
import { describeSettings } from "../datasets/describe";

/** Ready datasets (with their tokenizations), loaded once per mount (or once `enabled`: a form that may not need them). */
export function useReadyDatasets(enabled = true): { datasets: Dataset[]; loading: boolean; error: string | null } {
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    datasetsApi
      .list({ status: "completed", limit: 200 }, ctrl.signal)
      .then((page) => !ctrl.signal.aborted && setDatasets(page.items))
      .catch((e) => !ctrl.signal.aborted && setError(messageOf(e)))
      .finally(() => !ctrl.signal.aborted && setLoading(false));
    return () => ctrl.abort();
  }, [enabled]);
  return { datasets, loading, error };
}

/** A dataset's ready tokenizations, those made with this model's tokenizer first. */
export function usableTokenizations(dataset: Dataset | undefined, modelId: string): Tokenization[] {
  const ready = (dataset?.tokenizations ?? []).filter((t) => t.ready);
  return [...ready.filter((t) => t.model_id === modelId), ...ready.filter((t) => t.model_id !== modelId)];
}

/** The first dataset with a ready tokenization of this model (else any ready one), and that tokenization. */
export function defaultSource(datasets: Dataset[], modelId: string): { datasetId: string; tokenizationId: string } {
  const ours = datasets.find((d) => d.tokenizations.some((t) => t.ready && t.model_id === modelId));
  const dataset = ours ?? datasets.find((d) => d.tokenizations.some((t) => t.ready)) ?? datasets[0];
  return { datasetId: dataset?.id ?? "", tokenizationId: usableTokenizations(dataset, modelId)[0]?.id ?? "" };
}

export function tokenizationLabel(t: Tokenization, modelId: string): string {
  const other = t.model_id === modelId ? "" : " — other tokenizer";
  return `${t.tokenizer_name} · ${t.split} · ${describeSettings(t.settings)} · ${formatInteger(t.num_sequences)} seq${other}`;
}

/** Dataset and tokenization selects; a tokenization of another model's tokenizer is marked as such. */
export function SourcePicker({
  modelId,
  datasets,
  loading,
  loadError,
  datasetId,
  tokenizationId,
  onChange,
  errors,
  testIdPrefix = "extract",
  className = "grid gap-2 sm:grid-cols-2",
}: {
  modelId: string;
  datasets: Dataset[];
  loading: boolean;
  loadError: string | null;
  datasetId: string;
  tokenizationId: string;
  onChange: (source: { datasetId: string; tokenizationId: string }) => void;
  errors: { dataset_id?: string; tokenization_id?: string };
  /** Another form using the picker names its elements its own way ("train" → train-dataset). */
  testIdPrefix?: string;
  /** The layout: two columns by default; a narrow form stacks them ("space-y-3"). */
  className?: string;
}) {
  const dataset = datasets.find((d) => d.id === datasetId);
  const tokenizations = usableTokenizations(dataset, modelId);
  const chosen = tokenizations.find((t) => t.id === tokenizationId);
  return (
    <div className={className}>
      <Field label="Dataset" error={errors.dataset_id ?? loadError} data-testid={`${testIdPrefix}-dataset-field`}>
        {({ id, describedBy, invalid }) => (
          <select
            id={id}
            className={inputClass}
            value={datasetId}
            disabled={loading || datasets.length === 0}
            onChange={(e) => {
              const next = datasets.find((d) => d.id === e.target.value);
              onChange({ datasetId: e.target.value, tokenizationId: usableTokenizations(next, modelId)[0]?.id ?? "" });
            }}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid={`${testIdPrefix}-dataset`}
          >
            {loading && <option value="">loading datasets…</option>}
            {!loading && datasets.length === 0 && <option value="">no ready dataset</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Tokenization"
        error={errors.tokenization_id}
        hint={chosen && chosen.model_id !== modelId ? "made with another model's tokenizer: accepted only if the tokenizer files are identical" : undefined}
        data-testid={`${testIdPrefix}-tokenization-field`}
      >
        {({ id, describedBy, invalid }) => (
          <select
            id={id}
            className={inputClass}
            value={tokenizationId}
            disabled={tokenizations.length === 0}
            onChange={(e) => onChange({ datasetId, tokenizationId: e.target.value })}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid={`${testIdPrefix}-tokenization`}
          >
            {tokenizations.length === 0 && <option value="">no ready tokenization</option>}
            {tokenizations.map((t) => (
              <option key={t.id} value={t.id}>
                {tokenizationLabel(t, modelId)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {!loading && datasetId && tokenizations.length === 0 && (
        <p className="text-xs text-amber-300 sm:col-span-2" data-testid={`${testIdPrefix}-no-tokenization`}>
          This dataset has no ready tokenization:{" "}
          <Link href={`/datasets/${datasetId}?tab=tokenization`} className="text-sky-300 hover:underline">
            tokenize it with this model
          </Link>{" "}
          first.
        </p>
      )}
      {!loading && datasets.length === 0 && !loadError && (
        <p className="text-xs text-amber-300 sm:col-span-2" data-testid={`${testIdPrefix}-no-dataset`}>
          No ready dataset:{" "}
          <Link href="/datasets" className="text-sky-300 hover:underline">
            add one
          </Link>{" "}
          and tokenize it with this model.
        </p>
      )}
    </div>
  );
}

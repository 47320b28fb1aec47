import { useEffect, useMemo, useRef, useState } from "react";
import { BarChart3, Loader2, Play, Square, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { modelsApi } from "../../api/models";
import type { Model } from "../../api/types";
import {
  DEFAULT_TOKENIZE_SETTINGS,
  datasetsApi,
  type Dataset,
  type Tokenization,
  type TokenizePreview,
  type TokenizeSettings,
} from "../../api/datasets";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { ConfirmDialog } from "../../components/Modal";
import { StatusBadge } from "../../components/StatusBadge";
import { cn } from "../../lib/cn";
import { formatBytes, formatCount, formatInteger, formatTimestamp } from "../../lib/format";
import { Link } from "../../lib/router";
import { useDatasets } from "../../stores/datasets";
import { useToasts } from "../../stores/toasts";
import { TokenizationProgress } from "./DatasetProgress";
import { describeSettings, parseSettingsDraft, type SettingsDraft } from "./describe";
import { TokenView } from "./TokenView";

export const PREVIEW_DEBOUNCE_MS = 400;
const PREVIEW_SAMPLES = 5;

function sameSettings(a: TokenizeSettings, b: TokenizeSettings): boolean {
  return (Object.keys(DEFAULT_TOKENIZE_SETTINGS) as Array<keyof TokenizeSettings>).every((k) => a[k] === b[k]);
}

/** Models whose tokenizer can be used: every ready model on this machine. */
function useReadyModels(): { models: Model[]; loading: boolean; error: string | null } {
  const [models, setModels] = useState<Model[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    modelsApi
      .list({ ready: true, limit: 200 }, ctrl.signal)
      .then((page) => {
        if (!ctrl.signal.aborted) setModels(page.items);
      })
      .catch((e) => {
        if (!ctrl.signal.aborted) setError(messageOf(e));
      })
      .finally(() => {
        if (!ctrl.signal.aborted) setLoading(false);
      });
    return () => ctrl.abort();
  }, []);
  return { models, loading, error };
}

function Toggle({ label, checked, onChange, hint, testId, disabled }: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint?: string;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <label className={cn("flex items-start gap-2 text-xs text-zinc-200", disabled && "opacity-50")}>
      <input type="checkbox" className="mt-0.5 accent-sky-500" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
      <span>
        {label}
        {hint && <span className="block text-[11px] text-zinc-500">{hint}</span>}
      </span>
    </label>
  );
}

function Estimate({ preview }: { preview: TokenizePreview }) {
  const approx = preview.exact ? "" : "≈ ";
  return (
    <div className="flex flex-wrap items-baseline gap-x-4 gap-y-1" data-testid="tokenize-estimate">
      <span className="text-sm text-zinc-300">
        <strong className="font-mono text-lg text-zinc-50" data-testid="tokenize-estimate-sequences">
          {approx}
          {formatInteger(preview.sequences_estimate)}
        </strong>{" "}
        sequences
      </span>
      <span className="text-sm text-zinc-300">
        <strong className="font-mono text-lg text-zinc-50" data-testid="tokenize-estimate-tokens">
          {approx}
          {formatInteger(preview.tokens_estimate)}
        </strong>{" "}
        tokens
      </span>
      <span className="text-[11px] text-zinc-500">
        {preview.exact
          ? `exact: every one of the ${formatInteger(preview.rows_total)} rows of ${preview.split} was tokenized`
          : `estimated from the first ${formatInteger(preview.rows_sampled)} of ${formatInteger(preview.rows_total)} rows of ${preview.split}`}
      </span>
    </div>
  );
}

/** The settings form, the live preview next to it, and the button that starts the job. */
function TokenizeForm({ dataset }: { dataset: Dataset }) {
  const { models, loading: modelsLoading, error: modelsError } = useReadyModels();
  const splits = Object.keys(dataset.splits);
  const last = dataset.tokenizations[dataset.tokenizations.length - 1];
  const [modelId, setModelId] = useState<string>(last?.model_id ?? "");
  const [split, setSplit] = useState<string>(splits.includes("train") ? "train" : (splits[0] ?? ""));
  const initial = last?.settings ?? DEFAULT_TOKENIZE_SETTINGS;
  const [draft, setDraft] = useState<SettingsDraft>({
    max_length: String(initial.max_length),
    stride: String(initial.stride),
    min_length: String(initial.min_length),
  });
  const [packing, setPacking] = useState(initial.packing);
  const [bos, setBos] = useState(initial.bos_per_sequence);
  const [special, setSpecial] = useState(initial.add_special_tokens);
  const [preview, setPreview] = useState<TokenizePreview | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [startError, setStartError] = useState<string | null>(null);
  const [showIds, setShowIds] = useState(false);
  const starting = useDatasets((s) => s.pending[dataset.id] === "tokenize");
  const tokenize = useDatasets((s) => s.tokenize);
  const abortRef = useRef<AbortController | null>(null);

  // Pick a model once the list is known (the last one used, else the first ready one).
  useEffect(() => {
    if (modelsLoading) return;
    if (!models.some((m) => m.id === modelId)) setModelId(models[0]?.id ?? "");
  }, [models, modelsLoading, modelId]);

  const { values, errors } = parseSettingsDraft(draft);
  const settings: TokenizeSettings | null = useMemo(
    // Packing never adds per-document specials (the server records it so): send what will really happen.
    () => (values ? { ...values, packing, bos_per_sequence: bos, add_special_tokens: special && !packing } : null),
    [values?.max_length, values?.stride, values?.min_length, packing, bos, special],
  );
  const settingsKey = JSON.stringify(settings);
  const modelReady = !modelsLoading && models.some((m) => m.id === modelId);
  // The server refuses a second tokenization with the same model, split and settings (409): say so first.
  const duplicate = settings
    ? dataset.tokenizations.find(
        (t) => t.model_id === modelId && t.split === split && !t.retryable && sameSettings(t.settings, settings),
      )
    : undefined;

  // Live preview: debounced, and only the latest request counts.
  useEffect(() => {
    setStartError(null);
    if (!settings || !modelReady || !split) {
      abortRef.current?.abort();
      setPreviewing(false);
      return;
    }
    const ctrl = new AbortController();
    abortRef.current?.abort();
    abortRef.current = ctrl;
    setPreviewing(true);
    const t = setTimeout(() => {
      datasetsApi
        .previewTokenization(dataset.id, { model_id: modelId, split, samples: PREVIEW_SAMPLES, ...settings }, ctrl.signal)
        .then((p) => {
          if (ctrl.signal.aborted) return;
          setPreview(p);
          setPreviewError(null);
        })
        .catch((e) => {
          if (ctrl.signal.aborted) return;
          setPreview(null);
          setPreviewError(messageOf(e));
        })
        .finally(() => {
          if (!ctrl.signal.aborted) setPreviewing(false);
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
  }, [dataset.id, modelId, modelReady, split, settingsKey]);

  const start = async () => {
    if (!settings || !modelReady) return;
    setStartError(null);
    try {
      const t = await tokenize(dataset.id, { model_id: modelId, split, ...settings });
      useToasts.getState().push({ kind: "info", title: `Tokenizing ${dataset.name}`, message: `${t.tokenizer_name} · ${describeSettings(t.settings)}` });
    } catch (e) {
      setStartError(messageOf(e));
    }
  };

  const set = (k: keyof SettingsDraft) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));
  return (
    <div className="grid items-start gap-4 lg:grid-cols-[minmax(280px,360px)_1fr]">
      <Card title="Settings" data-testid="tokenize-form">
        <div className="space-y-3">
          <Field label="Tokenizer of model" hint={modelsError ?? (models.length === 0 && !modelsLoading ? undefined : "any ready model on this machine")}>
            {({ id, describedBy }) => (
              <select
                id={id}
                className={inputClass}
                value={modelId}
                onChange={(e) => setModelId(e.target.value)}
                disabled={modelsLoading || models.length === 0}
                aria-describedby={describedBy}
                data-testid="tokenize-model"
              >
                {modelsLoading && <option value="">loading models…</option>}
                {!modelsLoading && models.length === 0 && <option value="">no ready model</option>}
                {models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                    {m.family ? ` (${m.family})` : ""}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {!modelsLoading && models.length === 0 && (
            <p className="text-xs text-amber-300" data-testid="tokenize-no-model">
              Tokenizing needs a model's tokenizer:{" "}
              <Link href="/models" className="text-sky-300 hover:underline">
                download or import a model
              </Link>{" "}
              first.
            </p>
          )}
          <div className="grid grid-cols-2 gap-2">
            <Field label="Split">
              {({ id }) => (
                <select id={id} className={inputClass} value={split} onChange={(e) => setSplit(e.target.value)} data-testid="tokenize-split">
                  {splits.map((s) => (
                    <option key={s} value={s}>
                      {s} ({formatCount(dataset.splits[s])})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Max length" error={errors.max_length} hint="tokens per sequence">
              {({ id, describedBy, invalid }) => (
                <input id={id} className={inputClass} inputMode="numeric" value={draft.max_length} onChange={set("max_length")} aria-invalid={invalid} aria-describedby={describedBy} data-testid="tokenize-max-length" />
              )}
            </Field>
            <Field label="Stride" error={errors.stride} hint={packing ? "tokens shared by chunks" : "overlap of overflow windows"}>
              {({ id, describedBy, invalid }) => (
                <input id={id} className={inputClass} inputMode="numeric" value={draft.stride} onChange={set("stride")} aria-invalid={invalid} aria-describedby={describedBy} data-testid="tokenize-stride" />
              )}
            </Field>
            <Field label="Min length" error={errors.min_length} hint={packing ? "drop shorter documents" : "drop shorter sequences"}>
              {({ id, describedBy, invalid }) => (
                <input id={id} className={inputClass} inputMode="numeric" value={draft.min_length} onChange={set("min_length")} aria-invalid={invalid} aria-describedby={describedBy} data-testid="tokenize-min-length" />
              )}
            </Field>
          </div>
          <div className="space-y-2 rounded border border-zinc-800 p-2">
            <Toggle
              label="Pack documents into full-length sequences"
              hint={packing ? "documents joined with EOS, cut into max-length chunks (the last partial one is dropped)" : "off: one document → one sequence, truncated at max length"}
              checked={packing}
              onChange={setPacking}
              testId="tokenize-packing"
            />
            <Toggle label="Start every chunk with BOS" checked={bos} onChange={setBos} disabled={!packing} testId="tokenize-bos" />
            <Toggle
              label="Add the tokenizer's special tokens"
              hint={packing ? "not with packing: EOS between documents and BOS per chunk take their place" : "per document (e.g. BOS)"}
              checked={special && !packing}
              onChange={setSpecial}
              disabled={packing}
              testId="tokenize-special"
            />
          </div>
          <Button variant="primary" className="w-full" onClick={() => void start()} disabled={!settings || !modelReady || starting || Boolean(duplicate)} data-testid="tokenize-start">
            {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Play className="size-3.5" aria-hidden />}
            Tokenize {split}
          </Button>
          {duplicate && (
            <p className="text-[11px] text-amber-300" data-testid="tokenize-duplicate">
              Already tokenized with this model, split and settings ({duplicate.status}): change a setting, or delete that one below to redo
              it.
            </p>
          )}
          {startError && (
            <p className="rounded bg-red-950/50 px-2 py-1 text-xs break-words text-red-200" role="alert" data-testid="tokenize-start-error">
              {startError}
            </p>
          )}
        </div>
      </Card>

      <Card
        title="Preview"
        actions={
          <>
            {previewing && <Loader2 className="size-3.5 animate-spin text-zinc-500" aria-label="updating the preview" />}
            <label className="flex items-center gap-1 text-xs text-zinc-400">
              <input type="checkbox" checked={showIds} onChange={(e) => setShowIds(e.target.checked)} className="accent-sky-500" data-testid="tokenize-show-ids" />
              token ids
            </label>
          </>
        }
        data-testid="tokenize-preview"
        data-state={previewing ? "loading" : previewError ? "error" : preview ? "ready" : "idle"}
      >
        {previewError ? (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs break-words text-red-200" role="alert" data-testid="tokenize-preview-error">
            {previewError}
          </p>
        ) : preview ? (
          <div className={cn("space-y-3", previewing && "opacity-60")}>
            <Estimate preview={preview} />
            <ol className="space-y-2" data-testid="tokenize-preview-samples">
              {preview.samples.map((s, i) => (
                <li key={i} className="rounded border border-zinc-800 bg-zinc-950/60 p-2">
                  <div className="mb-1 flex justify-between text-[10px] text-zinc-500">
                    <span>sequence {i + 1}</span>
                    <span className="font-mono">{s.tokens.length} tokens</span>
                  </div>
                  <TokenView tokens={s.tokens} showIds={showIds} data-testid={`tokenize-preview-tokens-${i}`} />
                </li>
              ))}
            </ol>
            {preview.samples.length === 0 && <p className="text-xs text-zinc-500">These settings produce no sequence from the first rows.</p>}
          </div>
        ) : (
          <p className="text-xs text-zinc-500">
            {!modelId ? "Choose a model: its tokenizer turns the text into tokens." : settings ? "Tokenizing the first rows…" : "Fix the settings to see a preview."}
          </p>
        )}
      </Card>
    </div>
  );
}

function TokenizationActions({ dataset, tokenization }: { dataset: Dataset; tokenization: Tokenization }) {
  const [confirming, setConfirming] = useState<"cancel" | "delete" | null>(null);
  const pending = useDatasets((s) => s.pending[dataset.id]);
  const cancel = useDatasets((s) => s.cancelTokenization);
  const remove = useDatasets((s) => s.deleteTokenization);
  const active = tokenization.active;
  const busy = pending === `cancel-tokenization:${tokenization.id}` || pending === `delete-tokenization:${tokenization.id}`;
  return (
    <span className="flex justify-end gap-1">
      {tokenization.ready && (
        <Link
          href={`/datasets/${dataset.id}?tab=statistics&tokenization=${tokenization.id}`}
          className="inline-flex h-6 items-center gap-1 rounded border border-zinc-700 bg-zinc-800 px-2 text-xs font-medium text-zinc-100 hover:bg-zinc-700"
          data-testid={`tokenization-stats-${tokenization.id}`}
        >
          <BarChart3 className="size-3" aria-hidden /> Statistics
        </Link>
      )}
      {active ? (
        <Button size="sm" variant="danger" disabled={busy} onClick={() => setConfirming("cancel")} data-testid={`tokenization-cancel-${tokenization.id}`}>
          <Square className="size-3" aria-hidden /> Cancel
        </Button>
      ) : (
        <Button size="sm" variant="danger" disabled={busy} onClick={() => setConfirming("delete")} aria-label="Delete this tokenization" data-testid={`tokenization-delete-${tokenization.id}`}>
          {busy ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />}
        </Button>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={confirming === "cancel" ? "Cancel this tokenization?" : "Delete this tokenization?"}
        message={
          confirming === "cancel" ? (
            "It stops at its next batch and nothing is kept."
          ) : (
            <>
              Its sequences and statistics are removed, freeing about <strong className="font-mono text-zinc-100">{formatBytes(tokenization.size_bytes)}</strong>.
              The dataset's text stays.
            </>
          )
        }
        confirmLabel={confirming === "cancel" ? "Cancel tokenization" : "Delete"}
        cancelLabel="Keep"
        danger
        onCancel={() => setConfirming(null)}
        onConfirm={() => {
          const what = confirming;
          setConfirming(null);
          if (what === "cancel") void cancel(dataset.id, tokenization.id);
          else void remove(dataset.id, tokenization.id);
        }}
      />
    </span>
  );
}

/** Every tokenization of the dataset: live progress while running, counts and size once ready. */
export function TokenizationsTable({ dataset }: { dataset: Dataset }) {
  const rows = [...dataset.tokenizations].reverse();
  return (
    <Card title={`Tokenizations (${dataset.tokenizations.length})`} data-testid="tokenizations">
      {rows.length === 0 ? (
        <p className="text-xs text-zinc-500" data-testid="tokenizations-empty">
          None yet. A dataset can have several: one per tokenizer and settings.
        </p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-xs" data-testid="tokenizations-table">
            <thead>
              <tr className="border-b border-zinc-800 text-[10px] tracking-wide text-zinc-500 uppercase">
                <th className="px-2 py-1.5 font-medium">Tokenizer</th>
                <th className="px-2 py-1.5 font-medium">Split</th>
                <th className="px-2 py-1.5 font-medium">Settings</th>
                <th className="px-2 py-1.5 font-medium">Status</th>
                <th className="px-2 py-1.5 text-right font-medium">Sequences</th>
                <th className="px-2 py-1.5 text-right font-medium">Tokens</th>
                <th className="px-2 py-1.5 text-right font-medium">Size</th>
                <th className="px-2 py-1.5 font-medium">Created</th>
                <th className="px-2 py-1.5" />
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} className="border-b border-zinc-800/60 align-middle" data-testid={`tokenization-row-${t.id}`} data-status={t.status}>
                  <td className="px-2 py-1.5 font-mono text-zinc-100">{t.tokenizer_name}</td>
                  <td className="px-2 py-1.5 font-mono text-zinc-300">{t.split}</td>
                  <td className="px-2 py-1.5 font-mono text-zinc-400">{describeSettings(t.settings)}</td>
                  <td className="px-2 py-1.5">
                    {t.active ? (
                      <div className="flex items-center gap-2">
                        <StatusBadge status={t.status} />
                        <TokenizationProgress tokenization={t} />
                      </div>
                    ) : (
                      <div className="space-y-0.5">
                        <StatusBadge status={t.status} data-testid={`tokenization-status-${t.id}`} />
                        {t.message && !t.ready && <p className="max-w-72 text-[11px] break-words text-red-300">{t.message}</p>}
                      </div>
                    )}
                  </td>
                  <td className="px-2 py-1.5 text-right font-mono text-zinc-200">{formatInteger(t.num_sequences)}</td>
                  <td className="px-2 py-1.5 text-right font-mono text-zinc-200">{formatInteger(t.num_tokens)}</td>
                  <td className="px-2 py-1.5 text-right font-mono text-zinc-400">{t.ready ? formatBytes(t.size_bytes) : "—"}</td>
                  <td className="px-2 py-1.5 font-mono whitespace-nowrap text-zinc-500">{formatTimestamp(t.created_at, true)}</td>
                  <td className="px-2 py-1.5">
                    <TokenizationActions dataset={dataset} tokenization={t} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

/** Tokenization tab: settings with a live preview, then every tokenization made of this dataset. */
export function TokenizationTab({ dataset }: { dataset: Dataset }) {
  return (
    <div className="space-y-4">
      <TokenizeForm dataset={dataset} />
      <TokenizationsTable dataset={dataset} />
    </div>
  );
}

import { useEffect, useRef, useState, type FormEvent } from "react";
import { Download, Eye, Loader2, ShieldAlert } from "lucide-react";
import { isApiError } from "../../api/client";
import { modelsApi } from "../../api/models";
import type { ModelFormat, Preview } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { repoIdProblem } from "../../lib/repoId";
import { useModels } from "../../stores/models";
import { useToasts } from "../../stores/toasts";
import { PreviewCard } from "./PreviewCard";

function messageOf(e: unknown): string {
  if (isApiError(e)) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

function parseBudget(value: string): number | undefined {
  const n = Number.parseFloat(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Repo id → Preview → format → Download. The token lives in this component's state only: it is
 * sent with the request, cleared after a download starts, and never written to any store or storage.
 */
export function DownloadForm() {
  const [repoId, setRepoId] = useState("");
  const [repoTouched, setRepoTouched] = useState(false);
  const [revision, setRevision] = useState("");
  const [token, setToken] = useState("");
  const [budget, setBudget] = useState("");
  const [name, setName] = useState("");
  const [trustRemoteCode, setTrustRemoteCode] = useState(false);
  const [format, setFormat] = useState<ModelFormat | null>(null);

  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewBudget, setPreviewBudget] = useState<string>("");
  const [previewing, setPreviewing] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  const download = useModels((s) => s.download);

  const problem = repoIdProblem(repoId);
  const showProblem = repoTouched && repoId.trim() !== "" ? problem : null;
  const budgetValue = parseBudget(budget);
  const budgetInvalid = budget.trim() !== "" && budgetValue === undefined;

  // A preview describes one repo and revision: editing either retires it.
  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    setFormat(null);
    abortRef.current?.abort();
  }, [repoId, revision]);
  useEffect(() => () => abortRef.current?.abort(), []);

  const runPreview = async (e?: FormEvent) => {
    e?.preventDefault();
    setRepoTouched(true);
    if (problem || budgetInvalid) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPreviewing(true);
    setPreviewError(null);
    try {
      const result = await modelsApi.preview(
        {
          repo_id: repoId.trim(),
          revision: revision.trim() || null,
          token: token || null,
          budget_gb: budgetValue ?? null,
        },
        ctrl.signal,
      );
      if (ctrl.signal.aborted) return;
      setPreview(result);
      setPreviewBudget(budget);
      if (format && !result.formats.some((f) => f.format === format && f.available)) setFormat(null);
    } catch (err) {
      if (ctrl.signal.aborted) return;
      setPreview(null);
      setPreviewError(messageOf(err));
    } finally {
      if (abortRef.current === ctrl) setPreviewing(false);
    }
  };

  const runDownload = async () => {
    setRepoTouched(true);
    if (problem) return;
    setDownloading(true);
    setDownloadError(null);
    const request = {
      repo_id: repoId.trim(),
      revision: revision.trim() || null,
      token: token || null,
      format,
      name: name.trim() || null,
      trust_remote_code: trustRemoteCode,
    };
    setToken(""); // sent once; never kept
    try {
      const model = await download(request);
      useToasts.getState().push({ kind: "info", title: `Downloading ${model.name}`, message: `Job ${model.job_id}` });
      setRepoId("");
      setRepoTouched(false);
      setRevision("");
      setName("");
      setTrustRemoteCode(false);
    } catch (err) {
      setDownloadError(messageOf(err));
    } finally {
      setDownloading(false);
    }
  };

  return (
    <Card title="Download from the Hugging Face Hub" data-testid="model-download-form">
      <div className="grid gap-4 lg:grid-cols-[minmax(280px,380px)_1fr]">
        <form className="space-y-3" onSubmit={runPreview} noValidate aria-label="Download a model">
          <Field label="Repo id" error={showProblem} data-testid="download-repo-id" hint="owner/name, as on huggingface.co">
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                className={`${inputClass} font-mono`}
                value={repoId}
                onChange={(e) => setRepoId(e.target.value)}
                onBlur={() => setRepoTouched(true)}
                placeholder="HuggingFaceTB/SmolLM2-135M-Instruct"
                aria-invalid={invalid}
                aria-describedby={describedBy}
                autoComplete="off"
                spellCheck={false}
                data-testid="download-repo-id"
                required
              />
            )}
          </Field>
          <div className="grid grid-cols-3 gap-2">
            <Field label="Revision" hint="default: main">
              {({ id, describedBy }) => (
                <input
                  id={id}
                  className={`${inputClass} font-mono`}
                  value={revision}
                  onChange={(e) => setRevision(e.target.value)}
                  placeholder="main"
                  aria-describedby={describedBy}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="download-revision"
                />
              )}
            </Field>
            <Field label="Budget (GB)" hint="memory; default 6" error={budgetInvalid ? "A positive number." : null}>
              {({ id, describedBy, invalid }) => (
                <input
                  id={id}
                  className={inputClass}
                  type="number"
                  min={0.1}
                  step={0.5}
                  inputMode="decimal"
                  value={budget}
                  onChange={(e) => setBudget(e.target.value)}
                  placeholder="6"
                  aria-invalid={invalid}
                  aria-describedby={describedBy}
                  data-testid="download-budget"
                />
              )}
            </Field>
            <Field label="Name" hint="default: repo id">
              {({ id, describedBy }) => (
                <input
                  id={id}
                  className={inputClass}
                  value={name}
                  maxLength={255}
                  onChange={(e) => setName(e.target.value)}
                  placeholder="optional"
                  aria-describedby={describedBy}
                  data-testid="download-name"
                />
              )}
            </Field>
          </div>
          <Field label="Hugging Face token (gated repos)" hint="Sent with this request only, never stored. Empty: your standard HF login, if any.">
            {({ id, describedBy }) => (
              <input
                id={id}
                className={`${inputClass} font-mono`}
                type="password"
                value={token}
                onChange={(e) => setToken(e.target.value)}
                placeholder="hf_…"
                aria-describedby={describedBy}
                autoComplete="off"
                data-lpignore="true"
                data-1p-ignore="true"
                data-testid="download-token"
              />
            )}
          </Field>

          <div className="rounded border border-amber-900/60 bg-amber-950/20 p-2">
            <label className="flex items-start gap-2 text-xs text-zinc-200">
              <input
                type="checkbox"
                className="mt-0.5 accent-amber-500"
                checked={trustRemoteCode}
                onChange={(e) => setTrustRemoteCode(e.target.checked)}
                aria-describedby="trust-remote-code-warning"
                data-testid="trust-remote-code"
              />
              <span>
                Trust remote code <span className="font-mono text-zinc-500">(trust_remote_code)</span>
              </span>
            </label>
            <p id="trust-remote-code-warning" className="mt-1 flex gap-1.5 text-[11px] text-amber-200/90">
              <ShieldAlert className="mt-px size-3.5 shrink-0" aria-hidden />
              <span>
                Lets the repo run its own Python code on this machine, with your permissions, every time the model loads. Only for
                repos whose code you have read or whose authors you trust. Off by default.
              </span>
            </p>
            {preview?.requires_trust_remote_code && !trustRemoteCode && (
              <p className="mt-1 text-[11px] text-amber-300" data-testid="trust-remote-code-needed">
                This repo needs it: without it, the model is stored as incompatible.
              </p>
            )}
          </div>

          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" disabled={previewing || Boolean(problem && repoTouched)} data-testid="preview-button">
              {previewing ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Eye className="size-3.5" aria-hidden />}
              Preview
            </Button>
            <Button variant="primary" onClick={() => void runDownload()} disabled={downloading || Boolean(problem)} data-testid="download-button">
              {downloading ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Download className="size-3.5" aria-hidden />}
              Download{format ? ` (${format.toUpperCase()})` : ""}
            </Button>
          </div>
          {downloadError && (
            <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert" data-testid="download-error">
              {downloadError}
            </p>
          )}
        </form>

        <div className="min-w-0">
          {previewError ? (
            <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-xs text-red-200" role="alert" data-testid="preview-error">
              {previewError}
            </p>
          ) : preview ? (
            <PreviewCard preview={preview} format={format} onFormatChange={setFormat} stale={previewBudget !== budget} />
          ) : (
            <div className="flex min-h-32 items-center justify-center rounded-md border border-dashed border-zinc-800 p-4 text-center text-xs text-zinc-500">
              {previewing
                ? "Asking the Hub…"
                : "Preview shows the family, parameter count, files, licence and the memory each format needs — before anything is downloaded."}
            </div>
          )}
        </div>
      </div>
    </Card>
  );
}

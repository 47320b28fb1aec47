import { useEffect, useRef, useState, type FormEvent } from "react";
import { Download, Eye, Loader2, Lock } from "lucide-react";
import { isApiError } from "../../api/client";
import { datasetsApi, type HubDatasetPreview } from "../../api/datasets";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { formatBytes, formatInteger } from "../../lib/format";
import { repoIdProblem } from "../../lib/repoId";
import { useDatasets } from "../../stores/datasets";
import { useToasts } from "../../stores/toasts";

export function messageOf(e: unknown): string {
  if (isApiError(e)) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** What the chosen config/split would download. */
function selectionBytes(preview: HubDatasetPreview, config: string, split: string): number {
  const c = preview.configs.find((x) => x.config === config);
  if (!c) return preview.download_bytes;
  return c.splits.filter((s) => !split || s.split === split).reduce((sum, s) => sum + s.bytes, 0);
}

/**
 * Repo id → Preview (configs, splits, sizes) → config/split/text column → Download. The token lives in this
 * component's state only: sent with the requests, cleared once a download starts, never stored.
 */
export function HubDownloadForm() {
  const [repoId, setRepoId] = useState("");
  const [repoTouched, setRepoTouched] = useState(false);
  const [revision, setRevision] = useState("");
  const [token, setToken] = useState("");
  const [config, setConfig] = useState("");
  const [split, setSplit] = useState("");
  const [textColumn, setTextColumn] = useState("");
  const [name, setName] = useState("");
  const [preview, setPreview] = useState<HubDatasetPreview | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  const download = useDatasets((s) => s.download);

  const problem = repoIdProblem(repoId);
  const showProblem = repoTouched && repoId.trim() !== "" ? problem : null;

  // A preview describes one repo and revision: editing either retires it.
  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    setConfig("");
    setSplit("");
    abortRef.current?.abort();
  }, [repoId, revision]);
  useEffect(() => () => abortRef.current?.abort(), []);

  const runPreview = async (e?: FormEvent) => {
    e?.preventDefault();
    setRepoTouched(true);
    if (problem) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPreviewing(true);
    setPreviewError(null);
    try {
      const result = await datasetsApi.preview({ repo_id: repoId.trim(), revision: revision.trim() || null, token: token || null }, ctrl.signal);
      if (ctrl.signal.aborted) return;
      setPreview(result);
      setConfig(result.configs[0]?.config ?? "");
      setSplit("");
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
      config: config || null,
      split: split || null,
      text_column: textColumn.trim() || null,
      name: name.trim() || null,
    };
    setToken(""); // sent once; never kept
    try {
      const dataset = await download(request);
      useToasts.getState().push({ kind: "info", title: `Downloading ${dataset.name}`, message: `Job ${dataset.job_id}` });
      setRepoId("");
      setRepoTouched(false);
      setRevision("");
      setTextColumn("");
      setName("");
    } catch (err) {
      setDownloadError(messageOf(err));
    } finally {
      setDownloading(false);
    }
  };

  const configInfo = preview?.configs.find((c) => c.config === config);
  return (
    <Card title="Download from the Hugging Face Hub" data-testid="dataset-download-form">
      <div className="grid gap-4 lg:grid-cols-[minmax(280px,420px)_1fr]">
        <form className="space-y-3" onSubmit={runPreview} noValidate aria-label="Download a dataset">
          <Field label="Dataset repo id" error={showProblem} data-testid="dataset-repo-id" hint="owner/name, as on huggingface.co/datasets">
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                className={`${inputClass} font-mono`}
                value={repoId}
                onChange={(e) => setRepoId(e.target.value)}
                onBlur={() => setRepoTouched(true)}
                placeholder="stanfordnlp/imdb"
                aria-invalid={invalid}
                aria-describedby={describedBy}
                autoComplete="off"
                spellCheck={false}
                data-testid="dataset-repo-id"
              />
            )}
          </Field>
          <div className="grid grid-cols-2 gap-2">
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
                  data-testid="dataset-revision"
                />
              )}
            </Field>
            <Field label="Token (gated repos)" hint="this request only, never stored">
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
                  data-testid="dataset-token"
                />
              )}
            </Field>
          </div>
          <div className="grid grid-cols-2 gap-2">
            <Field label="Config" hint={preview ? `${preview.configs.length} in this repo` : "preview to list them"}>
              {({ id, describedBy }) => (
                <select
                  id={id}
                  className={inputClass}
                  value={config}
                  onChange={(e) => {
                    setConfig(e.target.value);
                    setSplit("");
                  }}
                  disabled={!preview}
                  aria-describedby={describedBy}
                  data-testid="dataset-config"
                >
                  {!preview && <option value="">the only one</option>}
                  {preview?.configs.map((c) => (
                    <option key={c.config} value={c.config}>
                      {c.config}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Split">
              {({ id }) => (
                <select id={id} className={inputClass} value={split} onChange={(e) => setSplit(e.target.value)} disabled={!preview} data-testid="dataset-split">
                  <option value="">every split</option>
                  {configInfo?.splits.map((s) => (
                    <option key={s.split} value={s.split}>
                      {s.split}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Text column" hint="default: detected ('text', else the longest strings)">
              {({ id, describedBy }) => (
                <input
                  id={id}
                  className={`${inputClass} font-mono`}
                  value={textColumn}
                  onChange={(e) => setTextColumn(e.target.value)}
                  placeholder="auto"
                  aria-describedby={describedBy}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="dataset-text-column"
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
                  data-testid="dataset-name"
                />
              )}
            </Field>
          </div>
          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" disabled={previewing || Boolean(problem && repoTouched)} data-testid="dataset-preview-button">
              {previewing ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Eye className="size-3.5" aria-hidden />}
              Preview
            </Button>
            <Button variant="primary" onClick={() => void runDownload()} disabled={downloading || Boolean(problem)} data-testid="dataset-download-button">
              {downloading ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Download className="size-3.5" aria-hidden />}
              Download{preview ? ` (${formatBytes(selectionBytes(preview, config, split))})` : ""}
            </Button>
          </div>
          {downloadError && (
            <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert" data-testid="dataset-download-error">
              {downloadError}
            </p>
          )}
        </form>

        <div className="min-w-0">
          {previewError ? (
            <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-xs text-red-200" role="alert" data-testid="dataset-preview-error">
              {previewError}
            </p>
          ) : preview ? (
            <div className="space-y-2 rounded-md border border-zinc-800 bg-zinc-950/50 p-3 text-xs" data-testid="dataset-preview-card">
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-mono text-sm text-zinc-100">{preview.repo_id}</span>
                <span className="font-mono text-zinc-500">@{preview.revision.slice(0, 12)}</span>
                {preview.gated && (
                  <span className="inline-flex items-center gap-1 rounded border border-amber-800 bg-amber-950 px-1.5 text-[11px] text-amber-300">
                    <Lock className="size-3" aria-hidden /> gated
                  </span>
                )}
                {preview.private && <span className="rounded border border-zinc-700 px-1.5 text-[11px] text-zinc-300">private</span>}
                <span className="ml-auto text-zinc-400">
                  licence <span className="font-mono text-zinc-200">{preview.license ?? "—"}</span>
                </span>
              </div>
              <table className="w-full text-left" data-testid="dataset-preview-splits">
                <thead>
                  <tr className="border-b border-zinc-800 text-[10px] tracking-wide text-zinc-500 uppercase">
                    <th className="py-1 font-medium">Config</th>
                    <th className="py-1 font-medium">Split</th>
                    <th className="py-1 text-right font-medium">Files</th>
                    <th className="py-1 text-right font-medium">Size</th>
                  </tr>
                </thead>
                <tbody className="font-mono">
                  {preview.configs.flatMap((c) =>
                    c.splits.map((s) => {
                      const chosen = c.config === config && (!split || split === s.split);
                      return (
                        <tr key={`${c.config}/${s.split}`} className={chosen ? "text-zinc-100" : "text-zinc-500"}>
                          <td className="py-0.5">{c.config}</td>
                          <td className="py-0.5">{s.split}</td>
                          <td className="py-0.5 text-right">{formatInteger(s.files)}</td>
                          <td className="py-0.5 text-right">{formatBytes(s.bytes)}</td>
                        </tr>
                      );
                    }),
                  )}
                </tbody>
              </table>
              <p className="text-zinc-400">
                Downloads <strong className="font-mono text-zinc-100">{formatBytes(selectionBytes(preview, config, split))}</strong> of data
                files (repo total {formatBytes(preview.download_bytes)}), verified against the Hub's hashes, then normalized to text.
              </p>
            </div>
          ) : (
            <div className="flex min-h-32 items-center justify-center rounded-md border border-dashed border-zinc-800 p-4 text-center text-xs text-zinc-500">
              {previewing ? "Asking the Hub…" : "Preview lists the repo's configs and splits with their sizes, before anything is downloaded."}
            </div>
          )}
        </div>
      </div>
    </Card>
  );
}

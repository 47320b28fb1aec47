/**
 * The parts of a "repo id → Preview → Download" form for the Hugging Face Hub (models, datasets): the
 * repo id, revision and token with their state, the preview request, the download request, and the
 * buttons and panes that show where each stands.
 *
 * The token lives in the form's state only: it goes with the requests, is cleared once a download
 * starts, and is never written to any store or storage.
 */
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Download, Eye, Loader2 } from "lucide-react";
import { messageOf } from "../api/client";
import { repoIdProblem } from "../lib/repoId";
import { useToasts } from "../stores/toasts";
import { cn } from "../lib/cn";
import { Button } from "./Button";
import { Card } from "./Card";
import { Field, inputClass } from "./Field";
import { FormError } from "./FormError";

/** What every Hub request of such a form carries. */
export interface HubRepoRef {
  repo_id: string;
  revision: string | null;
  token: string | null;
}

export interface HubRepoFormOptions<P> {
  preview: (repo: HubRepoRef, signal: AbortSignal) => Promise<P>;
  /** A new preview arrived (e.g. pick its first config). */
  onPreview?: (preview: P) => void;
  /** The preview was retired: the repo id or revision changed. */
  onRetire?: () => void;
  /** Another field is invalid: Preview does nothing. */
  blocked?: boolean;
}

export function useHubRepoForm<P>({ preview: fetchPreview, onPreview, onRetire, blocked = false }: HubRepoFormOptions<P>) {
  const [repoId, setRepoId] = useState("");
  const [repoTouched, setRepoTouched] = useState(false);
  const [revision, setRevision] = useState("");
  const [token, setToken] = useState("");
  const [preview, setPreview] = useState<P | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);

  const problem = repoIdProblem(repoId);
  const showProblem = repoTouched && repoId.trim() !== "" ? problem : null;
  const repo = (): HubRepoRef => ({ repo_id: repoId.trim(), revision: revision.trim() || null, token: token || null });

  // A preview describes one repo and revision: editing either retires it.
  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    onRetire?.();
    abortRef.current?.abort();
  }, [repoId, revision]);
  useEffect(() => () => abortRef.current?.abort(), []);

  const runPreview = async (e?: FormEvent) => {
    e?.preventDefault();
    setRepoTouched(true);
    if (problem || blocked) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPreviewing(true);
    setPreviewError(null);
    try {
      const result = await fetchPreview(repo(), ctrl.signal);
      if (ctrl.signal.aborted) return;
      setPreview(result);
      onPreview?.(result);
    } catch (err) {
      if (ctrl.signal.aborted) return;
      setPreview(null);
      setPreviewError(messageOf(err));
    } finally {
      if (abortRef.current === ctrl) setPreviewing(false);
    }
  };

  /**
   * Start the download with `start` (the token goes with it, then leaves this form); once accepted, say
   * so, clear the repo fields and call `onStarted` to clear the others. A refusal shows inline.
   */
  const runDownload = async (start: (repo: HubRepoRef) => Promise<{ name: string; job_id: string | null }>, onStarted: () => void) => {
    setRepoTouched(true);
    if (problem) return;
    setDownloading(true);
    setDownloadError(null);
    const ref = repo();
    setToken(""); // sent once; never kept
    try {
      const item = await start(ref);
      useToasts.getState().push({ kind: "info", title: `Downloading ${item.name}`, message: `Job ${item.job_id}` });
      setRepoId("");
      setRepoTouched(false);
      setRevision("");
      onStarted();
    } catch (err) {
      setDownloadError(messageOf(err));
    } finally {
      setDownloading(false);
    }
  };

  return {
    repoId,
    setRepoId,
    repoTouched,
    setRepoTouched,
    revision,
    setRevision,
    token,
    setToken,
    problem,
    showProblem,
    preview,
    previewing,
    previewError,
    downloading,
    downloadError,
    runPreview,
    runDownload,
  };
}

export type HubRepoForm<P> = ReturnType<typeof useHubRepoForm<P>>;

/** The repo id, checked against the server's rule once touched. */
export function RepoIdField({
  form,
  label,
  hint,
  placeholder,
  testId,
  required,
}: {
  form: HubRepoForm<unknown>;
  label: string;
  hint: string;
  placeholder: string;
  testId: string;
  required?: boolean;
}) {
  return (
    <Field label={label} error={form.showProblem} data-testid={testId} hint={hint}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          className={`${inputClass} font-mono`}
          value={form.repoId}
          onChange={(e) => form.setRepoId(e.target.value)}
          onBlur={() => form.setRepoTouched(true)}
          placeholder={placeholder}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          autoComplete="off"
          spellCheck={false}
          data-testid={testId}
          required={required}
        />
      )}
    </Field>
  );
}

export function RevisionField({ form, testId }: { form: HubRepoForm<unknown>; testId: string }) {
  return (
    <Field label="Revision" hint="default: main">
      {({ id, describedBy }) => (
        <input
          id={id}
          className={`${inputClass} font-mono`}
          value={form.revision}
          onChange={(e) => form.setRevision(e.target.value)}
          placeholder="main"
          aria-describedby={describedBy}
          autoComplete="off"
          spellCheck={false}
          data-testid={testId}
        />
      )}
    </Field>
  );
}

/** The Hugging Face token for gated repos: a password field that password managers leave alone. */
export function TokenField({ form, label, hint, testId }: { form: HubRepoForm<unknown>; label: string; hint: string; testId: string }) {
  return (
    <Field label={label} hint={hint}>
      {({ id, describedBy }) => (
        <input
          id={id}
          className={`${inputClass} font-mono`}
          type="password"
          value={form.token}
          onChange={(e) => form.setToken(e.target.value)}
          placeholder="hf_…"
          aria-describedby={describedBy}
          autoComplete="off"
          data-lpignore="true"
          data-1p-ignore="true"
          data-testid={testId}
        />
      )}
    </Field>
  );
}

/** The optional name of what is downloaded (the repo id when empty). */
export function DownloadNameField({ value, onChange, testId }: { value: string; onChange: (v: string) => void; testId: string }) {
  return (
    <Field label="Name" hint="default: repo id">
      {({ id, describedBy }) => (
        <input
          id={id}
          className={inputClass}
          value={value}
          maxLength={255}
          onChange={(e) => onChange(e.target.value)}
          placeholder="optional"
          aria-describedby={describedBy}
          data-testid={testId}
        />
      )}
    </Field>
  );
}

/** Preview (submits the form) and Download (`detail` in brackets after it), then a refused download's message. */
export function HubFormActions({
  form,
  onDownload,
  detail,
  testIds,
}: {
  form: HubRepoForm<unknown>;
  onDownload: () => Promise<void>;
  detail: string | null;
  testIds: { preview: string; download: string; error: string };
}) {
  return (
    <>
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" disabled={form.previewing || Boolean(form.problem && form.repoTouched)} data-testid={testIds.preview}>
          {form.previewing ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Eye className="size-3.5" aria-hidden />}
          Preview
        </Button>
        <Button variant="primary" onClick={() => void onDownload()} disabled={form.downloading || Boolean(form.problem)} data-testid={testIds.download}>
          {form.downloading ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Download className="size-3.5" aria-hidden />}
          Download{detail ? ` (${detail})` : ""}
        </Button>
      </div>
      {form.downloadError && <FormError testId={testIds.error}>{form.downloadError}</FormError>}
    </>
  );
}

/** Beside the form: the preview's error, the preview, or what Preview will show (while asking, that it asks). */
function PreviewPane<P>({
  form,
  errorTestId,
  idleText,
  children,
}: {
  form: HubRepoForm<P>;
  errorTestId: string;
  idleText: string;
  children: (preview: P) => ReactNode;
}) {
  return (
    <div className="min-w-0">
      {form.previewError ? (
        <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-xs text-red-200" role="alert" data-testid={errorTestId}>
          {form.previewError}
        </p>
      ) : form.preview !== null ? (
        children(form.preview)
      ) : (
        <div className="flex min-h-32 items-center justify-center rounded-md border border-dashed border-zinc-800 p-4 text-center text-xs text-zinc-500">
          {form.previewing ? "Asking the Hub…" : idleText}
        </div>
      )}
    </div>
  );
}

/** The "Download from the Hugging Face Hub" card: the form (`children`; submitting it previews) and the preview pane beside it. */
export function HubFormCard<P>({
  form,
  testId,
  formLabel,
  columns,
  preview,
  children,
}: {
  form: HubRepoForm<P>;
  testId: string;
  formLabel: string;
  /** The grid's columns on large screens (a literal Tailwind class). */
  columns: string;
  preview: { errorTestId: string; idleText: string; render: (preview: P) => ReactNode };
  children: ReactNode;
}) {
  return (
    <Card title="Download from the Hugging Face Hub" data-testid={testId}>
      <div className={cn("grid gap-4", columns)}>
        <form className="space-y-3" onSubmit={form.runPreview} noValidate aria-label={formLabel}>
          {children}
        </form>
        <PreviewPane form={form} errorTestId={preview.errorTestId} idleText={preview.idleText}>
          {preview.render}
        </PreviewPane>
      </div>
    </Card>
  );
}

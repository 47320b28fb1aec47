import type { ReactNode } from "react";
import { AlertTriangle, CheckCircle2, Lock } from "lucide-react";
import type { ModelFormat, Preview } from "../../api/types";
import { formatBytes, formatCount, formatInteger } from "../../lib/format";
import { FormatPicker } from "./FormatPicker";

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="flex gap-2 py-0.5" data-testid={testId}>
      <dt className="w-24 shrink-0 text-zinc-500">{label}</dt>
      <dd className="min-w-0 break-words text-zinc-200">{children}</dd>
    </div>
  );
}

export interface PreviewCardProps {
  preview: Preview;
  format: ModelFormat | null;
  onFormatChange: (format: ModelFormat | null) => void;
  /** The budget changed since this preview: its fit colours are for the old one. */
  stale?: boolean;
}

/** What a hub repo holds and needs, before anything is downloaded, with the format to load it in. */
export function PreviewCard({ preview, format, onFormatChange, stale = false }: PreviewCardProps) {
  const shownFiles = preview.files.slice(0, 50);
  return (
    <section className="space-y-3 rounded-md border border-zinc-800 bg-zinc-950/50 p-3 text-xs" data-testid="preview-card" aria-label="Preview">
      <header className="flex flex-wrap items-center gap-2">
        <h3 className="font-mono text-sm font-semibold text-zinc-100">{preview.repo_id}</h3>
        <span className="font-mono text-[11px] text-zinc-500">@{preview.revision}</span>
        {preview.compatible ? (
          <span className="inline-flex items-center gap-1 rounded border border-emerald-800 bg-emerald-950 px-1.5 text-[11px] text-emerald-300" data-testid="preview-compatible">
            <CheckCircle2 className="size-3" aria-hidden /> compatible
          </span>
        ) : (
          <span className="inline-flex items-center gap-1 rounded border border-amber-800 bg-amber-950 px-1.5 text-[11px] text-amber-300" data-testid="preview-incompatible">
            <AlertTriangle className="size-3" aria-hidden /> incompatible
          </span>
        )}
        {preview.gated && (
          <span className="inline-flex items-center gap-1 rounded border border-amber-800 bg-amber-950 px-1.5 text-[11px] text-amber-300" data-testid="preview-gated">
            <Lock className="size-3" aria-hidden /> gated
          </span>
        )}
        {preview.private && <span className="rounded border border-zinc-700 px-1.5 text-[11px] text-zinc-300">private</span>}
      </header>

      {!preview.compatible && preview.incompatible_reason && (
        <p className="rounded bg-amber-950/40 px-2 py-1 text-amber-200" data-testid="preview-incompatible-reason">
          {preview.incompatible_reason} It can still be downloaded; it will be stored as incompatible.
        </p>
      )}

      <dl>
        <Row label="Family" testId="preview-family">
          {preview.family ?? "unknown"}
          {preview.model_type && preview.model_type !== preview.family && <span className="text-zinc-500"> ({preview.model_type})</span>}
        </Row>
        <Row label="Parameters" testId="preview-params">
          {preview.parameter_count === null ? (
            "unknown"
          ) : (
            <>
              <strong className="font-mono">{formatCount(preview.parameter_count)}</strong>{" "}
              <span className="font-mono text-zinc-500">({formatInteger(preview.parameter_count)}</span>
              <span className="text-zinc-500">{preview.parameter_source ? `, from ${preview.parameter_source})` : ")"}</span>
            </>
          )}
        </Row>
        <Row label="Download" testId="preview-download-size">
          <span className="font-mono">{formatBytes(preview.download_bytes)}</span> in {preview.files.length} file
          {preview.files.length === 1 ? "" : "s"}
          {preview.total_files !== preview.files.length && (
            <span className="text-zinc-500"> (of {preview.total_files} in the repo; only what the model needs)</span>
          )}
        </Row>
        <Row label="Licence" testId="preview-license">
          {preview.license ?? "not stated"}
          {preview.gated && <span className="text-amber-300"> · gated: accept the licence on the Hub and give a token</span>}
        </Row>
        {preview.pipeline_tag && <Row label="Task">{preview.pipeline_tag}</Row>}
        {preview.requires_trust_remote_code && (
          <Row label="Code">
            <span className="text-amber-300">this repo ships its own modelling code (needs trust_remote_code)</span>
          </Row>
        )}
      </dl>

      <details className="rounded border border-zinc-800">
        <summary className="cursor-pointer px-2 py-1 text-zinc-300 select-none">Files to download</summary>
        <ul className="max-h-40 overflow-auto px-2 py-1 font-mono text-[11px]" data-testid="preview-files">
          {shownFiles.map((f) => (
            <li key={f.path} className="flex justify-between gap-3">
              <span className="truncate text-zinc-300">{f.path}</span>
              <span className="shrink-0 text-zinc-500 tabular-nums">{formatBytes(f.size)}</span>
            </li>
          ))}
          {preview.files.length > shownFiles.length && <li className="text-zinc-500">… {preview.files.length - shownFiles.length} more</li>}
        </ul>
      </details>

      <FormatPicker
        legend={`Memory per format on ${preview.device} (budget ${formatBytes(preview.memory_budget_bytes)})`}
        formats={preview.formats}
        value={format}
        onChange={onFormatChange}
        noneLabel="Download only (load it in a format later)"
        budgetBytes={preview.memory_budget_bytes}
        data-testid="preview-formats"
      />
      {stale && (
        <p className="text-[11px] text-amber-300" data-testid="preview-stale">
          The memory budget changed: Preview again to recolour the fit.
        </p>
      )}
    </section>
  );
}

import type { ReactNode } from "react";
import { AlertTriangle, Layers, Microscope } from "lucide-react";
import type { Model } from "../../api/types";
import { modelStatusLabel } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";
import { cn } from "../../lib/cn";
import { formatBytes, formatCount } from "../../lib/format";
import { Link } from "../../lib/router";
import { describePlacement, estimateError, variantFormatLabel } from "./describe";
import { DeleteModelButton, RetryButton } from "./ModelActions";
import { CancelDownloadButton, ModelProgress } from "./ModelProgress";

export function modelSource(model: Model): string {
  if (model.repo_id) return model.revision && model.revision !== "main" ? `${model.repo_id}@${model.revision}` : model.repo_id;
  return model.source_path ?? model.source;
}

function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-[10px] tracking-wide text-zinc-500 uppercase">{label}</dt>
      <dd className="truncate font-mono text-xs text-zinc-200">{children}</dd>
    </div>
  );
}

/** One model in the list: what it is, where it stands, and what can be done with it. */
export function ModelCard({ model }: { model: Model }) {
  const active = model.active;
  // Why it cannot be used: files that cannot be loaded, or how its download or import stopped.
  const problem = model.incompatible_reason ?? (active ? null : model.message);
  return (
    <article
      className="flex flex-col gap-2 rounded-md border border-zinc-800 bg-zinc-900/60 p-3"
      data-testid={`model-card-${model.id}`}
      data-model-id={model.id}
      data-status={model.status}
      aria-label={`Model ${model.name}`}
    >
      <header className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <h3 className="truncate text-sm font-semibold text-zinc-100">
            <Link href={`/models/${model.id}`} className="hover:underline" data-testid={`model-name-${model.id}`}>
              {model.name}
            </Link>
          </h3>
          <p className="truncate font-mono text-[11px] text-zinc-500" title={modelSource(model)}>
            {modelSource(model)}
          </p>
        </div>
        <StatusBadge status={modelStatusLabel(model)} data-testid={`model-status-${model.id}`} />
      </header>

      <dl className="grid grid-cols-4 gap-2">
        <Stat label="Family">{model.family ?? model.model_type ?? "—"}</Stat>
        <Stat label="Params">{formatCount(model.parameter_count)}</Stat>
        <Stat label="Layers">{model.num_layers ?? "—"}</Stat>
        <Stat label="On disk">{formatBytes(model.size_bytes || (active ? null : 0))}</Stat>
      </dl>

      {active && <ModelProgress model={model} />}

      {problem && (
        <p
          className={cn(
            "flex gap-1.5 rounded px-2 py-1 text-xs break-words",
            model.status === "failed" ? "bg-red-950/50 text-red-200" : "bg-amber-950/40 text-amber-200",
          )}
          role={model.status === "failed" ? "alert" : undefined}
          data-testid={`model-message-${model.id}`}
        >
          <AlertTriangle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
          <span className="min-w-0">{problem}</span>
        </p>
      )}

      {model.variants.length > 0 && (
        <ul className="space-y-0.5 text-[11px]" aria-label="Variants" data-testid={`model-variants-${model.id}`}>
          {model.variants.map((v) => (
            <li key={v.id} className="flex flex-wrap items-center gap-x-2 font-mono text-zinc-400">
              <span className="font-semibold text-zinc-200">{variantFormatLabel(v)}</span>
              <span>{v.device}</span>
              <StatusBadge status={v.status} />
              {v.footprint_bytes ? (
                <span title="measured footprint vs estimate">
                  {formatBytes(v.footprint_bytes)}
                  {v.estimate_bytes ? (
                    <span className="text-zinc-600">
                      {" "}
                      est {formatBytes(v.estimate_bytes)} ({estimateError(v)})
                    </span>
                  ) : null}
                </span>
              ) : (
                v.estimate_bytes !== null && <span className="text-zinc-500">est {formatBytes(v.estimate_bytes)}</span>
              )}
              {v.placement && <span className="truncate text-zinc-500">{describePlacement(v.placement)}</span>}
            </li>
          ))}
        </ul>
      )}

      <footer className="mt-auto flex flex-wrap items-center gap-1.5 pt-1">
        <Link
          href={`/models/${model.id}`}
          data-testid={`model-open-${model.id}`}
          className="inline-flex h-6 items-center gap-1 rounded border border-zinc-700 bg-zinc-800 px-2 text-xs font-medium text-zinc-100 hover:bg-zinc-700"
        >
          <Microscope className="size-3" aria-hidden /> {model.ready ? "Architecture" : "Details"}
        </Link>
        {model.ready && (
          <Link
            href={`/models/${model.id}?tab=extraction`}
            data-testid={`model-extract-${model.id}`}
            className="inline-flex h-6 items-center gap-1 rounded border border-sky-800 bg-sky-950/60 px-2 text-xs font-medium text-sky-100 hover:bg-sky-900"
          >
            <Layers className="size-3" aria-hidden /> Extract activations
          </Link>
        )}
        {active && <CancelDownloadButton model={model} />}
        {model.retryable && <RetryButton model={model} />}
        <span className="ml-auto" />
        {!active && <DeleteModelButton model={model} />}
      </footer>
    </article>
  );
}

import { useEffect, useState } from "react";
import { Cpu, Loader2, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { modelsApi } from "../../api/models";
import type { FormatsInfo, Model, ModelFormat, Variant } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { StatusBadge } from "../../components/StatusBadge";
import { Table, type Column } from "../../components/Table";
import { formatBytes } from "../../lib/format";
import { useJobs } from "../../stores/jobs";
import { useModels } from "../../stores/models";
import { describePlacement, estimateError, variantFormatLabel } from "./describe";
import { FormatPicker } from "./FormatPicker";

function VariantStatusCell({ variant }: { variant: Variant }) {
  const job = useJobs((s) => (variant.job_id ? s.active[variant.job_id] : undefined));
  if (!variant.active) return <StatusBadge status={variant.status} />;
  // The live job when this tab follows it; the row's own progress and step after a reload.
  const message = job?.message ?? variant.message;
  return (
    <div className="w-40 space-y-0.5">
      <StatusBadge status={variant.status} />
      <ProgressBar value={job?.progress ?? variant.progress} indeterminate={variant.status === "queued"} label={`Loading ${variant.requested_format}`} />
      {message && <div className="truncate text-[11px] text-zinc-500">{message}</div>}
    </div>
  );
}

function DeleteVariantButton({ model, variant }: { model: Model; variant: Variant }) {
  const [confirming, setConfirming] = useState(false);
  const deleteVariant = useModels((s) => s.deleteVariant);
  const pending = useModels((s) => s.pending[model.id] === "delete-variant");
  return (
    <>
      <Button
        size="sm"
        variant="ghost"
        aria-label={`Delete the ${variantFormatLabel(variant)} variant on ${variant.device}`}
        disabled={pending || variant.active}
        onClick={() => setConfirming(true)}
        data-testid={`variant-delete-${variant.id}`}
      >
        <Trash2 className="size-3.5" aria-hidden />
      </Button>
      <ConfirmDialog
        open={confirming}
        title={`Delete the ${variantFormatLabel(variant)} variant?`}
        message={
          <>
            The {variantFormatLabel(variant)} variant on <span className="font-mono">{variant.device}</span> is removed, with any
            files of its own. The model's raw files stay.
          </>
        }
        confirmLabel="Delete variant"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void deleteVariant(model.id, variant.id);
        }}
      />
    </>
  );
}

/** "Quantize to…": the formats with their estimates and fit on the chosen device, then a variant job. */
function QuantizeDialog({ model, open, onClose }: { model: Model; open: boolean; onClose: () => void }) {
  const [device, setDevice] = useState("");
  const [info, setInfo] = useState<FormatsInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [format, setFormat] = useState<ModelFormat | null>(null);
  const quantize = useModels((s) => s.quantize);
  const pending = useModels((s) => s.pending[model.id] === "quantize");

  useEffect(() => {
    if (!open) return;
    const ctrl = new AbortController();
    setError(null);
    modelsApi
      .formats(model.id, device ? { device } : {}, ctrl.signal)
      .then((r) => {
        setInfo(r);
        setFormat((f) => (f && r.formats.some((x) => x.format === f && x.available) ? f : null));
      })
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setInfo(null);
        setError(messageOf(e));
      });
    return () => ctrl.abort();
  }, [open, model.id, device]);

  const effectiveDevice = device || info?.device || "";
  const existing: Partial<Record<ModelFormat, string>> = {};
  for (const v of model.variants) {
    if (v.device === effectiveDevice && !v.retryable) {
      existing[v.requested_format] = `already a variant on ${v.device} (${v.status})`;
    }
  }

  return (
    <Modal
      open={open}
      title={`Quantize ${model.name} to…`}
      onClose={onClose}
      size="lg"
      data-testid="quantize-dialog"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!format || pending}
            data-testid="quantize-submit"
            onClick={() => {
              if (!format) return;
              void quantize(model.id, format, device || undefined).then((v) => {
                if (v) onClose();
              });
            }}
          >
            {pending && <Loader2 className="size-3.5 animate-spin" aria-hidden />}
            {format ? `Load as ${format.toUpperCase()}` : "Pick a format"}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <p className="text-xs text-zinc-400">
          A variant loads this model's raw files in another format (nothing is downloaded or copied again) and records the memory it
          really took. If a format runs out of memory, the next larger one that fits is used, and the variant says so.
        </p>
        <Field label="Device">
          {({ id }) => (
            <select id={id} className={inputClass} value={device} onChange={(e) => setDevice(e.target.value)} data-testid="quantize-device">
              <option value="">studio default{info && !device ? ` (${info.device})` : ""}</option>
              <option value="cpu">cpu</option>
              <option value="cuda">cuda</option>
            </select>
          )}
        </Field>
        {error ? (
          <p className="rounded bg-red-950/50 px-2 py-1 text-xs text-red-200" role="alert" data-testid="quantize-error">
            {error}
          </p>
        ) : !info ? (
          <p className="text-xs text-zinc-500">Estimating…</p>
        ) : (
          <FormatPicker
            legend={`Memory per format on ${info.device} (budget ${formatBytes(info.memory_budget_bytes)})`}
            formats={info.formats}
            value={format}
            onChange={setFormat}
            budgetBytes={info.memory_budget_bytes}
            disabledReasons={existing}
            data-testid="quantize-formats"
          />
        )}
      </div>
    </Modal>
  );
}

/** The formats this model has been loaded in: measured footprint against the estimate, and where it lives. */
export function VariantsPanel({ model }: { model: Model }) {
  const [quantizing, setQuantizing] = useState(false);
  const columns: Column<Variant>[] = [
    { key: "format", header: "Format", render: (v) => <span className="font-mono font-semibold text-zinc-100">{variantFormatLabel(v)}</span> },
    { key: "device", header: "Device", render: (v) => <span className="font-mono">{v.device}</span> },
    { key: "status", header: "Status", render: (v) => <VariantStatusCell variant={v} /> },
    { key: "measured", header: "Measured", className: "text-right font-mono", render: (v) => formatBytes(v.footprint_bytes) },
    { key: "estimate", header: "Estimate", className: "text-right font-mono", render: (v) => formatBytes(v.estimate_bytes) },
    { key: "error", header: "Est. error", className: "text-right font-mono", render: (v) => estimateError(v) ?? "—" },
    {
      key: "placement",
      header: "Placement",
      className: "max-w-64 truncate",
      render: (v) => <span title={v.placement ? JSON.stringify(v.placement) : undefined}>{describePlacement(v.placement)}</span>,
    },
    {
      key: "notes",
      header: "Notes",
      className: "max-w-80 whitespace-normal",
      render: (v) => (
        <div className="space-y-0.5 text-[11px]">
          {v.message && !v.active && <div className={v.status === "failed" ? "text-red-300" : "text-amber-200"}>{v.message}</div>}
          {v.sample_output && (
            <div className="truncate text-zinc-400" title={v.sample_output}>
              sample: <span className="font-mono">{v.sample_output}</span>
            </div>
          )}
          {v.steps.length > 0 && (
            <details>
              <summary className="cursor-pointer text-zinc-500">{v.steps.length} steps</summary>
              <ol className="list-decimal pl-4 text-zinc-400">
                {v.steps.map((s, i) => (
                  <li key={i}>{s}</li>
                ))}
              </ol>
            </details>
          )}
        </div>
      ),
    },
    { key: "actions", header: <span className="sr-only">Actions</span>, render: (v) => <DeleteVariantButton model={model} variant={v} /> },
  ];
  return (
    <Card
      title="Variants"
      data-testid="variants-panel"
      actions={
        <Button
          size="sm"
          variant="primary"
          disabled={!model.ready}
          title={!model.ready ? "available once the model is ready" : undefined}
          onClick={() => setQuantizing(true)}
          data-testid="quantize-open"
        >
          <Cpu className="size-3" aria-hidden /> Quantize to…
        </Button>
      }
    >
      <Table
        columns={columns}
        rows={model.variants}
        rowKey={(v) => v.id}
        rowTestId={(v) => `variant-row-${v.id}`}
        caption="Variants of this model"
        empty="Not loaded in any format yet. Use Quantize to… to load it as FP16, Q8, Q4, …"
        data-testid="variants-table"
      />
      <QuantizeDialog model={model} open={quantizing} onClose={() => setQuantizing(false)} />
    </Card>
  );
}

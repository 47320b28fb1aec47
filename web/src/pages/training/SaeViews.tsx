/** The stored SAEs: one SAE's page (/training/saes/:id) and the list of a model's SAEs (its page's SAEs tab). */
import { useEffect, useState } from "react";
import { ArrowLeft, FolderInput, Loader2, Plus, Sparkles, Trash2 } from "lucide-react";
import { messageOf } from "../../api/client";
import { trainingApi, type SAE } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { DetailList, DetailRow } from "../../components/Details";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/Modal";
import { Table, type Column } from "../../components/Table";
import { formatBytes, formatInteger, formatTimestamp } from "../../lib/format";
import { Link, navigate } from "../../lib/router";
import { useConnection } from "../../stores/live";
import { reportFreed } from "../../stores/liveResource";
import { formatMetric, metricNames } from "./metrics";
import { SaeImportDialog } from "./SaeImportDialog";

/** `load` now, on every (re)connect and when `key` changes: its value, or the server's message. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string): { value: T | null; error: string | null; notFound: boolean } {
  const epoch = useConnection((s) => s.epoch);
  const [state, setState] = useState<{ value: T | null; error: string | null; notFound: boolean }>({ value: null, error: null, notFound: false });
  useEffect(() => {
    const ctrl = new AbortController();
    load(ctrl.signal)
      .then((value) => !ctrl.signal.aborted && setState({ value, error: null, notFound: false }))
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        const status = (e as { status?: number }).status;
        setState((s) => ({ ...s, error: messageOf(e), notFound: status === 404 }));
      });
    return () => ctrl.abort();
  }, [key, epoch]);
  return state;
}

const pickFigure = (sae: SAE, key: string) => {
  const v = sae.metrics?.[`holdout_${key}`] ?? sae.metrics?.[key];
  return v === undefined ? "—" : formatMetric(v);
};

export const SAE_COLUMNS: Column<SAE>[] = [
  { key: "name", header: "Name", render: (s) => <span className="block max-w-80 truncate font-mono text-zinc-100" title={s.name}>{s.name}</span> },
  { key: "arch", header: "Architecture", render: (s) => <span className="font-mono text-zinc-300">{s.architecture}</span> },
  {
    key: "hook",
    header: "Hook point",
    render: (s) => (
      <span className="font-mono text-zinc-300">
        {s.hook_point ?? "—"}
        {s.target_hook_point && s.target_hook_point !== s.hook_point && ` → ${s.target_hook_point}`}
      </span>
    ),
  },
  { key: "width", header: "Width", className: "text-right", render: (s) => <span className="font-mono text-zinc-300">{formatInteger(s.d_sae)}</span> },
  { key: "k", header: "k", className: "text-right", render: (s) => <span className="font-mono text-zinc-300">{s.k ?? "—"}</span> },
  { key: "fvu", header: "FVU", className: "text-right", render: (s) => <span className="font-mono text-zinc-200">{pickFigure(s, "fvu")}</span> },
  { key: "l0", header: "L0", className: "text-right", render: (s) => <span className="font-mono text-zinc-200">{pickFigure(s, "l0")}</span> },
  { key: "origin", header: "Origin", render: (s) => <span className="text-zinc-400">{s.origin}</span> },
  { key: "created", header: "Created", render: (s) => <span className="font-mono text-zinc-500">{formatTimestamp(s.created_at, true)}</span> },
];

/** The SAEs of a model, newest first; a row opens the SAE. One trained elsewhere can be imported here. */
export function ModelSaesPanel({ modelId }: { modelId: string }) {
  const [version, setVersion] = useState(0);
  const [importing, setImporting] = useState(false);
  const { value, error } = useLoad((signal) => trainingApi.listSaes({ model_id: modelId, limit: 200 }, signal), `${modelId}:${version}`);
  return (
    <Card
      title={`SAEs (${value?.pagination.total ?? "…"})`}
      data-testid="model-saes"
      actions={
        <span className="flex items-center gap-1">
        <Button size="sm" onClick={() => setImporting(true)} data-testid="model-saes-import">
          <FolderInput className="size-3" aria-hidden /> Import an SAE
        </Button>
        <Link href="/training" className="inline-flex h-6 items-center gap-1 rounded border border-sky-500 bg-sky-600 px-2 text-xs font-medium text-white hover:bg-sky-500" data-testid="model-saes-train">
          <Plus className="size-3" aria-hidden /> Train an SAE
        </Link>
        </span>
      }
    >
      {error && <FormError testId="model-saes-error">{error}</FormError>}
      <Table
        columns={SAE_COLUMNS}
        rows={value?.items ?? []}
        rowKey={(s) => s.id}
        caption="SAEs of this model"
        onRowClick={(s) => navigate(`/training/saes/${s.id}`)}
        rowTestId={(s) => `model-sae-row-${s.id}`}
        empty={value ? "No SAE of this model yet: train one in Training, or import one." : "Loading…"}
        data-testid="model-saes-table"
      />
      <SaeImportDialog open={importing} onClose={() => setImporting(false)} onImported={() => setVersion((v) => v + 1)} modelId={modelId} />
    </Card>
  );
}

/** /training/saes/:id — one stored SAE: its shape, where it came from, its final figures, its folder, and delete. */
export function SaeDetail({ id }: { id: string }) {
  const { value: sae, error, notFound } = useLoad((signal) => trainingApi.getSae(id, signal), id);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const remove = async () => {
    setConfirming(false);
    setDeleting(true);
    setDeleteError(null);
    try {
      const result = await trainingApi.removeSae(id);
      reportFreed(`Deleted ${sae?.name ?? id}`, result.bytes_freed);
      navigate(sae?.model_id ? `/models/${sae.model_id}?tab=saes` : "/training");
    } catch (e) {
      setDeleteError(messageOf(e));
    } finally {
      setDeleting(false);
    }
  };
  const back = (
    <Link href={sae?.training_id ? `/training/${sae.training_id}` : "/training"} className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
      <ArrowLeft className="size-3.5" aria-hidden /> {sae?.training_id ? "Its training" : "Training"}
    </Link>
  );
  if (!sae) {
    return (
      <div className="mx-auto max-w-7xl space-y-3 p-6" data-testid="sae-detail">
        {back}
        <p className="text-sm text-zinc-400">{notFound ? `No SAE with id ${id} (it may have been deleted).` : (error ?? "Loading…")}</p>
      </div>
    );
  }
  const metrics = sae.metrics ?? {};
  const names = metricNames([{ member: 0, step: 0, values: metrics }]);
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="sae-detail" data-sae-id={sae.id}>
      <div>
        {back}
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <h1 className="font-mono text-lg font-semibold break-all text-zinc-50" data-testid="sae-detail-name">
            {sae.name}
          </h1>
          <span className="rounded border border-zinc-700 px-1.5 text-[11px] text-zinc-300">{sae.architecture}</span>
          <span className="ml-auto flex items-center gap-1">
            <Link href={`/features/saes/${sae.id}`} className="inline-flex h-6 items-center gap-1 rounded border border-sky-500 bg-sky-600 px-2 text-xs font-medium text-white hover:bg-sky-500" data-testid="sae-features-link">
              <Sparkles className="size-3" aria-hidden /> Analyse its features
            </Link>
            <Button size="sm" variant="danger" disabled={deleting} onClick={() => setConfirming(true)} data-testid="sae-delete">
              {deleting ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Trash2 className="size-3" aria-hidden />} Delete
            </Button>
          </span>
        </div>
        {deleteError && <FormError testId="sae-delete-error">{deleteError}</FormError>}
      </div>
      <div className="grid items-start gap-4 lg:grid-cols-2">
        <Card title="About">
          <DetailList testId="sae-detail-info">
            <DetailRow label="Model">
              {sae.model_id ? (
                <Link href={`/models/${sae.model_id}?tab=saes`} className="text-sky-300 hover:underline">
                  {sae.model_name ?? sae.model_id}
                </Link>
              ) : (
                "—"
              )}
            </DetailRow>
            <DetailRow label="Hook point">
              {sae.hook_point ?? "—"}
              {sae.target_hook_point && sae.target_hook_point !== sae.hook_point && ` → ${sae.target_hook_point} (transcoder)`}
            </DetailRow>
            <DetailRow label="Shape">
              d_in {sae.d_in} × {formatInteger(sae.d_sae)} latents{sae.k !== null && `, k ${sae.k}`}
            </DetailRow>
            <DetailRow label="Origin">
              {sae.origin}
              {sae.training_id && (
                <>
                  {" · "}
                  <Link href={`/training/${sae.training_id}`} className="text-sky-300 hover:underline">
                    training
                  </Link>
                </>
              )}
            </DetailRow>
            {sae.source_path && <DetailRow label="Imported from">{sae.source_path}</DetailRow>}
            <DetailRow label="Size">{formatBytes(sae.size_bytes)}</DetailRow>
            <DetailRow label="Folder">
              <span data-testid="sae-detail-path">{sae.path}</span>
            </DetailRow>
            <DetailRow label="Created">{formatTimestamp(sae.created_at)}</DetailRow>
          </DetailList>
          <p className="mt-2 text-[11px] text-zinc-500">SAELens layout: <code>sae_lens.SAE.load_from_disk</code> opens the folder.</p>
        </Card>
        <Card title="Final figures">
          {names.length === 0 ? (
            <p className="text-xs text-zinc-500">None recorded (an imported SAE).</p>
          ) : (
            <dl className="grid grid-cols-[12rem_1fr] gap-x-2 gap-y-0.5 text-xs" data-testid="sae-detail-metrics">
              {names.map((k) => (
                <div key={k} className="contents">
                  <dt className="font-mono text-zinc-500">{k}</dt>
                  <dd className="font-mono text-zinc-200">{formatMetric(metrics[k])}</dd>
                </div>
              ))}
            </dl>
          )}
        </Card>
      </div>
      <ConfirmDialog
        open={confirming}
        title="Delete this SAE?"
        message={
          <>
            Its folder is removed from disk, freeing about <strong className="font-mono text-zinc-100">{formatBytes(sae.size_bytes)}</strong>. This cannot be undone.
          </>
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => void remove()}
      />
    </div>
  );
}

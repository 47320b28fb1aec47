import { useEffect, useMemo, useState } from "react";
import { CheckCircle2 } from "lucide-react";
import { messageOf } from "../../api/client";
import type { Extraction } from "../../api/extraction";
import { modelsApi } from "../../api/models";
import type { Architecture, FormatsInfo, Model } from "../../api/types";
import { Card } from "../../components/Card";
import { formatBytes } from "../../lib/format";
import { setQuery, useLocation } from "../../lib/router";
import { useExtractions } from "../../stores/extraction";
import { useConnection } from "../../stores/live";
import { reportError } from "../../stores/toasts";
import { ExtractionDetail } from "./ExtractionDetail";
import { ExtractionForm } from "./ExtractionForm";
import { ExtractionHistory } from "./ExtractionHistory";
import { ExtractionActions, ExtractionProgress } from "./ExtractionProgress";

const EMPTY: string[] = [];

/** The model's architecture (layers, hook types) and formats, loaded once per model. */
function useModelShape(modelId: string) {
  const [arch, setArch] = useState<Architecture | null>(null);
  const [archError, setArchError] = useState<string | null>(null);
  const [formats, setFormats] = useState<FormatsInfo | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    modelsApi
      .architecture(modelId, ctrl.signal)
      .then((a) => !ctrl.signal.aborted && setArch(a))
      .catch((e) => !ctrl.signal.aborted && setArchError(messageOf(e)));
    // Only marks formats this device cannot run; the form works without it.
    modelsApi
      .formats(modelId, {}, ctrl.signal)
      .then((f) => !ctrl.signal.aborted && setFormats(f))
      .catch(() => undefined);
    return () => ctrl.abort();
  }, [modelId]);
  const hookTypes = useMemo(() => (arch ? new Set(arch.hook_points.map((p) => p.split(".").pop() ?? "")) : null), [arch]);
  return { arch, archError, formats, hookTypes };
}

/** The extraction history of a model, fetched now and on every (re)connect. */
function useHistory(modelId: string): { items: Extraction[]; loaded: boolean } {
  const epoch = useConnection((s) => s.epoch);
  const fetchHistory = useExtractions((s) => s.fetchHistory);
  const ids = useExtractions((s) => s.byModel[modelId] ?? EMPTY);
  const all = useExtractions((s) => s.extractions);
  const loaded = useExtractions((s) => Boolean(s.historyLoaded[modelId]));
  useEffect(() => {
    const ctrl = new AbortController();
    fetchHistory(modelId, ctrl.signal).catch((e) => !ctrl.signal.aborted && reportError(e, "Could not load the extractions"));
    return () => ctrl.abort();
  }, [modelId, epoch, fetchHistory]);
  const items = useMemo(() => ids.map((id) => all[id]).filter((e): e is Extraction => e !== undefined), [ids, all]);
  return { items, loaded };
}

/** The Extraction tab of a model: the running extraction, the form with estimates and templates, the history and one extraction's detail. */
export function ExtractionPanel({ model }: { model: Model }) {
  const { arch, archError, formats, hookTypes } = useModelShape(model.id);
  const { items, loaded } = useHistory(model.id);
  const { search } = useLocation();
  const selectedId = search.get("extraction");
  const selected = items.find((e) => e.id === selectedId) ?? null;
  const running = items.filter((e) => e.active);
  const [deleted, setDeleted] = useState<{ name: string; bytes: number } | null>(null);

  return (
    <div className="space-y-4" data-testid="extraction-panel">
      {running.map((e) => (
        <Card
          key={e.id}
          title={
            <>
              Extracting · <span className="font-mono tracking-normal normal-case">{e.name}</span>
            </>
          }
          actions={<ExtractionActions extraction={e} />}
          data-testid="extraction-running"
          data-extraction-id={e.id}
        >
          <ExtractionProgress extraction={e} />
        </Card>
      ))}

      {arch ? (
        <ExtractionForm modelId={model.id} numLayers={arch.num_layers} hookTypes={hookTypes} formats={formats} busyWith={running[0]?.name ?? null} />
      ) : (
        <Card title="New extraction">
          <p className={archError ? "text-xs text-red-300" : "text-xs text-zinc-500"}>{archError ?? "Reading the model's layers…"}</p>
        </Card>
      )}

      {deleted && (
        <p className="flex items-center gap-1.5 rounded border border-emerald-900 bg-emerald-950/40 px-3 py-1.5 text-xs text-emerald-200" role="status" data-testid="extraction-deleted">
          <CheckCircle2 className="size-3.5" aria-hidden /> Deleted {deleted.name}: freed {formatBytes(deleted.bytes)}.
        </p>
      )}
      <ExtractionHistory extractions={items} loaded={loaded} selectedId={selectedId} onSelect={(id) => setQuery({ extraction: id }, { replace: true })} />
      {selected && (
        <ExtractionDetail
          key={selected.id}
          extraction={selected}
          onClose={() => setQuery({ extraction: null }, { replace: true })}
          onDeleted={(bytes) => {
            setDeleted({ name: selected.name, bytes });
            setQuery({ extraction: null }, { replace: true });
          }}
        />
      )}
    </div>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import { featuresApi } from "../../api/features";
import type { CompareResult, Experiment, SweepResult } from "../../api/steering";
import { Card } from "../../components/Card";
import { PageHeader } from "../../components/ListView";
import { ReadyTabs } from "../../components/ReadyTabs";
import { useLocation } from "../../lib/router";
import { reportError } from "../../stores/toasts";
import { CompareTab } from "./CompareTab";
import { directionLookup, EMPTY_DRAFT, featureItem, parseSteeringQuery, patchFromRequest, type SteeringDraft } from "./draft";
import { GenerationCard } from "./GenerationCard";
import { HistoryTab } from "./HistoryTab";
import { InterventionsCard } from "./InterventionsCard";
import { PresetsBar } from "./PresetsBar";
import { SweepTab } from "./SweepTab";
import { TargetPicker } from "./TargetPicker";
import { useCatalog } from "./useCatalog";
import { useSteeringRun } from "./useSteeringRun";

const TABS = ["compare", "sweep", "history"] as const;
type Tab = (typeof TABS)[number];

/** The draft, preselected from `?model=&sae=&feature=` (the feature browser's "steer with this feature"). */
function initialDraft(search: URLSearchParams): SteeringDraft {
  const { model, sae, feature } = parseSteeringQuery(search);
  return {
    ...EMPTY_DRAFT,
    modelId: model ?? "",
    saeId: model && sae ? sae : "",
    items: model && sae && feature !== null ? [featureItem(sae, feature)] : [],
  };
}

/** /steering: pick what to steer with, then compare, sweep, and browse the history. */
export default function SteeringPage() {
  const { search } = useLocation();
  const [draft, setDraft] = useState<SteeringDraft>(() => initialDraft(search));
  const [tab, setTab] = useState<Tab>("compare");
  const [historyEpoch, setHistoryEpoch] = useState(0);
  const [sweepGrid, setSweepGrid] = useState<number[] | null>(null);
  const catalog = useCatalog(draft.modelId, draft.saeId);
  const compare = useSteeringRun<CompareResult>();
  const sweep = useSteeringRun<SweepResult>();
  const change = useCallback((patch: Partial<SteeringDraft>) => setDraft((d) => ({ ...d, ...patch })), []);
  const sae = catalog.saes.find((s) => s.id === draft.saeId);

  // A new SAE: use its newest completed analysis (search, labels, units of max activation) — once, so "None" sticks.
  const analysedFor = useRef<string | null>(null);
  useEffect(() => {
    if (!draft.saeId || analysedFor.current === draft.saeId || catalog.analyses.length === 0) return;
    analysedFor.current = draft.saeId;
    const newest = catalog.analyses[0]!;
    if (newest.sae_id === draft.saeId) setDraft((d) => (d.analysisId ? d : { ...d, analysisId: newest.id }));
  }, [draft.saeId, catalog.analyses]);

  // Features added by index (or from the URL) get their label and max activation from the analysis, once each.
  const described = useRef(new Set<string>());
  useEffect(() => {
    const analysisId = draft.analysisId;
    if (!analysisId) return;
    for (const item of draft.items) {
      const key = `${analysisId}:${item.key}`;
      if (item.kind !== "feature" || item.saeId !== draft.saeId || item.maxActivation !== null || described.current.has(key)) continue;
      described.current.add(key);
      featuresApi.features(analysisId, { latent: item.feature, limit: 1 })
        .then((page) => {
          const row = page.items[0];
          if (!row) return;
          setDraft((d) => ({ ...d, items: d.items.map((old) => (old.key === item.key && old.kind === "feature"
            ? { ...old, label: row.label, maxActivation: row.max_activation } : old)) }));
        })
        .catch((e) => reportError(e, `Could not read feature ${item.feature}`));
    }
  }, [draft.analysisId, draft.saeId, draft.items]);

  function open(experiment: Experiment): void {
    const { patch, strengths } = patchFromRequest(experiment.request, directionLookup(catalog.directions));
    setDraft((d) => ({ ...d, ...patch }));
    setSweepGrid(strengths);
    if (experiment.kind === "compare") {
      compare.show(experiment.result as unknown as CompareResult);
      setTab("compare");
    } else {
      sweep.show(experiment.result as unknown as SweepResult);
      setTab("sweep");
    }
  }

  const finished = () => setHistoryEpoch((n) => n + 1);
  return (
    <div className="mx-auto max-w-[1600px] space-y-4 p-6" data-testid="steering-page">
      <PageHeader title="Steering"
        description="Change what a model writes with SAE features or contrastive directions: baseline and steered side by side, measured, swept over strengths." />
      <div className="grid items-start gap-4 xl:grid-cols-[minmax(320px,400px)_1fr]">
        <div className="space-y-4">
          <Card title="Model and SAE" bodyClassName="space-y-3 p-3">
            <TargetPicker draft={draft} models={catalog.models} saes={catalog.saes} analyses={catalog.analyses} onChange={change} />
            <PresetsBar draft={draft} presets={catalog.presets} directions={catalog.directions} onChange={change} onSaved={catalog.reloadPresets} />
          </Card>
          <InterventionsCard draft={draft} sae={sae} directions={catalog.directions} onChange={change} onDirectionsChanged={catalog.reloadDirections} />
          <GenerationCard draft={draft} onChange={change} />
        </div>
        <div className="min-w-0 space-y-3">
          <ReadyTabs tabs={TABS} tab={tab} ready noun="steering" onSelect={setTab} />
          {tab === "compare" && <CompareTab draft={draft} run={compare} onDone={finished} />}
          {tab === "sweep" && <SweepTab key={sweepGrid?.join(",")} draft={draft} run={sweep} onDone={finished} initialStrengths={sweepGrid} />}
          {tab === "history" && <HistoryTab modelId={draft.modelId} epoch={historyEpoch} onOpen={open} />}
        </div>
      </div>
    </div>
  );
}

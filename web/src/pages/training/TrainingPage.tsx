import { useEffect, useState } from "react";
import type { Training } from "../../api/training";
import { PageHeader, useListLoader } from "../../components/ListView";
import { useLocation } from "../../lib/router";
import { socket } from "../../stores/live";
import { startTrainingsLive, useTrainings } from "../../stores/training";
import { CompareView } from "./CompareView";
import { RunDetail } from "./RunDetail";
import { RunList } from "./RunList";
import { SaeDetail } from "./SaeViews";
import { TrainingForm } from "./TrainingForm";

/** /training: the new-run form and every run, newest first, live. `?extraction=` picks the form's extraction. */
function TrainingListView() {
  const { search } = useLocation();
  const trainings = useTrainings((s) => s.trainings);
  const listIds = useTrainings((s) => s.listIds);
  const listLoaded = useTrainings((s) => s.listLoaded);
  const listLoading = useTrainings((s) => s.listLoading);
  const fetchList = useTrainings((s) => s.fetchList);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const refresh = useListLoader((signal) => void fetchList(signal), [fetchList]);
  const rows = listIds.map((id) => trainings[id]).filter((t): t is Training => t !== undefined);
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="training-page">
      <PageHeader
        title="Training"
        description="Train sparse autoencoders (or transcoders) on a completed extraction — one SAE or a sweep over one read of the data — and follow them live."
      />
      <TrainingForm initialExtractionId={search.get("extraction")} />
      <RunList trainings={rows} loaded={listLoaded} loading={listLoading} selected={selected} onToggle={toggle} onRefresh={refresh} />
    </div>
  );
}

/** The Training section: `/training`, `/training/compare?ids=`, `/training/saes/{id}`, `/training/{id}`. */
export default function TrainingPage() {
  const { pathname } = useLocation();
  // Live while the section is open: refetch on training job updates, follow the metrics of runs in progress.
  useEffect(() => startTrainingsLive(socket), []);
  const rest = pathname.replace(/^\/training\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (rest[0] === "compare") return <CompareView />;
  if (rest[0] === "saes" && rest[1]) return <SaeDetail id={rest[1]} />;
  if (rest[0]) return <RunDetail id={rest[0]} />;
  return <TrainingListView />;
}

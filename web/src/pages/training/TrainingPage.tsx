import { useEffect, useState } from "react";
import { Layers } from "lucide-react";
import type { Training } from "../../api/training";
import { PageHeader, useListLoader } from "../../components/ListView";
import { Link, useLocation } from "../../lib/router";
import { socket } from "../../stores/live";
import { startTrainingsLive, useTrainings } from "../../stores/training";
import { CompareView } from "./CompareView";
import { RunDetail } from "./RunDetail";
import { RunList } from "./RunList";
import { SaeList } from "./SaeList";
import { SaeDetail } from "./SaeViews";
import { TrainingForm } from "./TrainingForm";

/** /training: the new-run form and every run, newest first, live; a link to the stored SAEs. `?extraction=` picks the form's extraction. */
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
        description="Train sparse autoencoders (or transcoders) on a stored extraction or streamed from a model — one SAE or a sweep — and follow them live."
      >
        <Link href="/training/saes" className="inline-flex h-8 items-center gap-1.5 rounded border border-zinc-700 bg-zinc-800 px-3 text-sm font-medium text-zinc-100 hover:bg-zinc-700" data-testid="training-saes-link">
          <Layers className="size-3.5" aria-hidden /> Stored SAEs
        </Link>
      </PageHeader>
      <TrainingForm initialExtractionId={search.get("extraction")} />
      <RunList trainings={rows} loaded={listLoaded} loading={listLoading} selected={selected} onToggle={toggle} onRefresh={refresh} />
    </div>
  );
}

/** The Training section: `/training`, `/training/compare?ids=`, `/training/saes`, `/training/saes/{id}`, `/training/{id}`. */
export default function TrainingPage() {
  const { pathname } = useLocation();
  // Live while the section is open: refetch on training job updates, follow the metrics of runs in progress.
  useEffect(() => startTrainingsLive(socket), []);
  const rest = pathname.replace(/^\/training\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (rest[0] === "compare") return <CompareView />;
  if (rest[0] === "saes") return rest[1] ? <SaeDetail id={rest[1]} /> : <SaeList />;
  if (rest[0]) return <RunDetail id={rest[0]} />;
  return <TrainingListView />;
}

import { useEffect } from "react";
import { useLocation } from "../../lib/router";
import { startDatasetsLive } from "../../stores/datasets";
import { socket } from "../../stores/live";
import { DatasetDetailView } from "./DatasetDetailView";
import { DatasetsListView } from "./DatasetsListView";

/** The Datasets section: `/datasets` and `/datasets/{id}?tab=overview|samples|tokenization|statistics`. */
export default function DatasetsPage() {
  const { pathname } = useLocation();
  // Live view while the section is open: progress channels and refetches on datasets.* job updates.
  useEffect(() => startDatasetsLive(socket), []);

  const rest = pathname.replace(/^\/datasets\/?/, "").split("/").filter(Boolean);
  if (rest[0]) return <DatasetDetailView id={decodeURIComponent(rest[0])} />;
  return <DatasetsListView />;
}

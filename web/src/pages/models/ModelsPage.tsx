import { useEffect } from "react";
import { useLocation } from "../../lib/router";
import { startExtractionsLive } from "../../stores/extraction";
import { socket } from "../../stores/live";
import { startModelsLive } from "../../stores/models";
import { CompareView } from "./CompareView";
import { ModelDetailView } from "./ModelDetailView";
import { ModelsListView } from "./ModelsListView";

/** The Models section: `/models`, `/models/compare?a=&b=`, `/models/{id}`. */
export default function ModelsPage() {
  const { pathname } = useLocation();
  // Live view while the section is open: progress channels and refetches on models.* job updates.
  useEffect(() => startModelsLive(socket), []);
  // …and the extractions the Extraction tab shows: their channels and refetches on extraction job updates.
  useEffect(() => startExtractionsLive(socket), []);

  const rest = pathname.replace(/^\/models\/?/, "").split("/").filter(Boolean);
  if (rest[0] === "compare") return <CompareView />;
  if (rest[0]) return <ModelDetailView id={decodeURIComponent(rest[0])} />;
  return <ModelsListView />;
}

import type { Model } from "../../api/types";
import { CancelWorkButton } from "../../components/ItemActions";
import { DownloadFigures, ItemProgress } from "../../components/ItemProgress";
import { useModels } from "../../stores/models";
import { downloadFraction } from "../../stores/modelsReducer";

/**
 * Live progress of a model being downloaded or imported: bytes, speed, ETA and the file in flight from
 * the progress channel; after a reload (before the next event) the job's own progress and message.
 */
export function ModelProgress({ model }: { model: Model }) {
  const progress = useModels((s) => s.progress[model.id]);
  const tid = `model-progress-${model.id}`;
  return (
    <ItemProgress item={model} live={progress !== undefined} fraction={(job) => downloadFraction(progress, job)} testId={tid}>
      {progress && <DownloadFigures progress={progress} testId={tid} />}
    </ItemProgress>
  );
}

/** Cancel a download/import, after a confirmation; partial files are removed by the server. */
export function CancelDownloadButton({ model }: { model: Model }) {
  const pending = useModels((s) => s.pending[model.id] === "cancel");
  const cancel = useModels((s) => s.cancelDownload);
  return (
    <CancelWorkButton
      name={model.name}
      verb={model.source === "hub" ? "download" : "import"}
      pending={pending}
      testId={`model-cancel-${model.id}`}
      onCancel={() => void cancel(model.id)}
    />
  );
}

import { useState } from "react";
import { ImportPathDialog } from "../../components/ImportPathDialog";
import { useDatasets } from "../../stores/datasets";
import { emptySourceOptions, SourceOptions, type SourceOptionsValue } from "./SourceOptions";

/** Import a file or a folder of text files from the server's disk (read in place; the normalized text is stored). */
export function DatasetImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [path, setPath] = useState("");
  const [options, setOptions] = useState<SourceOptionsValue>(emptySourceOptions);
  const importPath = useDatasets((s) => s.importPath);
  const trimmed = path.trim();
  const showTxtMode = options.format === "txt" || trimmed.toLowerCase().endsWith(".txt") || !/\.[a-z]+$/i.test(trimmed);

  return (
    <ImportPathDialog
      open={open}
      onClose={onClose}
      title="Import from the server's disk"
      path={path}
      onPathChange={setPath}
      pathHint="a .txt, .jsonl, .csv or .parquet file, or a folder of them (absolute path)"
      pathPlaceholder="/data/corpora/my-texts or …/train.jsonl"
      emptyPathMessage="Enter the absolute path of a file or folder on the server."
      onImport={(p) =>
        importPath({
          path: p,
          format: options.format || null,
          text_column: options.format !== "txt" ? options.textColumn.trim() || null : null,
          txt_mode: options.txtMode,
          name: options.name.trim() || null,
        })
      }
      onImported={() => {
        setPath("");
        setOptions(emptySourceOptions);
      }}
      testIds={{ dialog: "dataset-import-dialog", path: "dataset-import-path", submit: "dataset-import-submit", error: "dataset-import-error" }}
    >
      <SourceOptions value={options} onChange={setOptions} showTxtMode={showTxtMode} testIdPrefix="dataset-import" />
    </ImportPathDialog>
  );
}

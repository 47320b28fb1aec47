import { useRef, useState } from "react";
import { Download, Upload } from "lucide-react";
import { messageOf } from "../../api/client";
import { parseTemplatesFile, TEMPLATES_EXPORT_URL, type TemplatesImportResult } from "../../api/templates";
import { Button } from "../../components/Button";
import { FormError } from "../../components/FormError";
import { Modal } from "../../components/Modal";
import { useTemplates } from "../../stores/templates";

/** "1 template", "2 steering presets". */
function counted(n: number, noun: string) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** What an import did: the templates and steering presets added, the ones renamed (their name was taken), the
 * sections skipped. Older servers send no training or preset lists: they count as none. */
export function ImportSummary({ result }: { result: TemplatesImportResult }) {
  const training = result.imported_training ?? [];
  const presets = result.imported_presets ?? [];
  const renamed = [...result.renamed, ...(result.renamed_training ?? []), ...(result.renamed_presets ?? [])];
  const others = [
    training.length > 0 ? counted(training.length, "training template") : null,
    presets.length > 0 ? counted(presets.length, "steering preset") : null,
  ].filter((part): part is string => part !== null);
  return (
    <div className="space-y-2 text-xs" data-testid="templates-import-result">
      <p data-testid="templates-import-count">
        Imported <strong className="text-zinc-100">{result.imported.length}</strong> template{result.imported.length === 1 ? "" : "s"}
        {others.length > 0 ? ` (extraction), ${others.join(", ")}` : ""}.
      </p>
      {renamed.length > 0 && (
        <div>
          <p className="text-zinc-400">Renamed, because the name was taken:</p>
          <ul className="ml-4 list-disc font-mono text-[11px]" data-testid="templates-import-renamed">
            {renamed.map((r) => (
              <li key={r.imported_as}>
                {r.original} → {r.imported_as}
              </li>
            ))}
          </ul>
        </div>
      )}
      {result.skipped_sections.length > 0 && (
        <div>
          <p className="text-amber-300">Sections skipped:</p>
          <ul className="ml-4 list-disc text-[11px]" data-testid="templates-import-skipped">
            {result.skipped_sections.map((s) => (
              <li key={s.section}>
                <span className="font-mono">{s.section}</span>
                {s.items !== null && ` (${s.items} ${s.items === 1 ? "entry" : "entries"})`}: {s.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** Export every template as one JSON file; import such a file (read here, sent as JSON). */
export function TemplateTransfer() {
  const importFile = useTemplates((s) => s.importFile);
  const input = useRef<HTMLInputElement>(null);
  const [result, setResult] = useState<TemplatesImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fileName, setFileName] = useState("");

  const chosen = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setResult(null);
    setError(null);
    try {
      setResult(await importFile(parseTemplatesFile(await file.text())));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      if (input.current) input.current.value = ""; // the same file can be chosen again
    }
  };

  return (
    <>
      <a
        href={TEMPLATES_EXPORT_URL}
        download
        className="inline-flex h-6 items-center gap-1 rounded border border-zinc-700 bg-zinc-800 px-2 text-xs font-medium text-zinc-100 hover:bg-zinc-700"
        data-testid="templates-export"
      >
        <Download className="size-3" aria-hidden /> Export
      </a>
      <Button size="sm" onClick={() => input.current?.click()} data-testid="templates-import">
        <Upload className="size-3" aria-hidden /> Import
      </Button>
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        className="hidden"
        aria-label="Templates file to import"
        onChange={(e) => void chosen(e.target.files?.[0])}
        data-testid="templates-import-file"
      />
      <Modal
        open={result !== null || error !== null}
        title={`Import ${fileName}`}
        onClose={() => {
          setResult(null);
          setError(null);
        }}
        data-testid="templates-import-dialog"
      >
        {error ? <FormError testId="templates-import-error">{error}</FormError> : result && <ImportSummary result={result} />}
      </Modal>
    </>
  );
}

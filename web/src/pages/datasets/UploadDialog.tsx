import { useEffect, useRef, useState } from "react";
import { Loader2, Upload } from "lucide-react";
import { messageOf } from "../../api/client";
import { Button } from "../../components/Button";
import { FormError } from "../../components/FormError";
import { Modal } from "../../components/Modal";
import { ProgressBar } from "../../components/ProgressBar";
import { formatBytes, formatPercent } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";
import { useToasts } from "../../stores/toasts";
import { emptySourceOptions, SourceOptions, type SourceOptionsValue } from "./SourceOptions";

const ACCEPT = ".txt,.jsonl,.csv,.parquet";

/** Upload files from this browser: a progress bar with bytes and %, the server's message (413 included) on failure. */
export function UploadDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const [options, setOptions] = useState<SourceOptionsValue>(emptySourceOptions);
  const [sent, setSent] = useState<{ loaded: number; total: number | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const upload = useDatasets((s) => s.upload);
  const uploading = sent !== null;
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const hasTxt = files.some((f) => f.name.toLowerCase().endsWith(".txt")) || options.format === "txt";

  useEffect(() => () => abortRef.current?.abort(), []);

  const reset = () => {
    setFiles([]);
    setOptions(emptySourceOptions);
    setSent(null);
    setError(null);
    if (inputRef.current) inputRef.current.value = "";
  };
  const close = () => {
    abortRef.current?.abort();
    reset();
    onClose();
  };

  const submit = async () => {
    if (files.length === 0) {
      setError("Choose one or more .txt, .jsonl, .csv or .parquet files first.");
      return;
    }
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setError(null);
    setSent({ loaded: 0, total: totalBytes });
    try {
      const dataset = await upload(
        files,
        {
          format: options.format || null,
          txt_mode: options.txtMode,
          text_column: options.format !== "txt" ? options.textColumn.trim() || null : null,
          name: options.name.trim() || null,
        },
        { signal: ctrl.signal, onProgress: (p) => setSent({ loaded: p.loaded, total: p.total }) },
      );
      useToasts.getState().push({ kind: "info", title: `Importing ${dataset.name}`, message: `Uploaded ${formatBytes(totalBytes)}; job ${dataset.job_id}` });
      reset();
      onClose();
    } catch (e) {
      setSent(null);
      if (e instanceof DOMException && e.name === "AbortError") return;
      setError(messageOf(e));
    } finally {
      if (abortRef.current === ctrl) abortRef.current = null;
    }
  };

  const total = sent?.total ?? totalBytes;
  const fraction = sent && total > 0 ? sent.loaded / total : 0;
  return (
    <Modal
      open={open}
      title="Upload files"
      onClose={close}
      size="lg"
      data-testid="upload-dialog"
      footer={
        <>
          <Button onClick={close} data-testid="upload-cancel">
            {uploading ? "Stop upload" : "Cancel"}
          </Button>
          <Button variant="primary" onClick={() => void submit()} disabled={uploading || files.length === 0} data-testid="upload-submit">
            {uploading ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Upload className="size-3.5" aria-hidden />}
            Upload{files.length ? ` ${formatBytes(totalBytes)}` : ""}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <label className="block space-y-1">
          <span className="block text-xs font-medium text-zinc-300">Files</span>
          <input
            ref={inputRef}
            type="file"
            multiple
            accept={ACCEPT}
            disabled={uploading}
            onChange={(e) => {
              setFiles(Array.from(e.target.files ?? []));
              setError(null);
            }}
            className="block w-full text-xs text-zinc-300 file:mr-3 file:rounded file:border file:border-zinc-700 file:bg-zinc-800 file:px-3 file:py-1 file:text-xs file:text-zinc-100 hover:file:bg-zinc-700"
            data-testid="upload-files"
            data-autofocus
          />
          <span className="block text-[11px] text-zinc-500">
            .txt, .jsonl, .csv or .parquet; several files become one dataset (a file named like train/test/validation is that split).
          </span>
        </label>
        {files.length > 0 && (
          <ul className="max-h-32 space-y-0.5 overflow-y-auto rounded border border-zinc-800 bg-zinc-950/50 p-2 font-mono text-[11px]" data-testid="upload-file-list">
            {files.map((f) => (
              <li key={`${f.name}-${f.size}`} className="flex gap-2 text-zinc-300">
                <span className="min-w-0 flex-1 truncate">{f.name}</span>
                <span className="text-zinc-500">{formatBytes(f.size)}</span>
              </li>
            ))}
          </ul>
        )}
        <SourceOptions value={options} onChange={setOptions} showTxtMode={hasTxt} testIdPrefix="upload" namePlaceholder={files[0]?.name ?? "optional"} />
        {sent && (
          <div className="space-y-1" data-testid="upload-progress">
            <ProgressBar value={fraction} label="Upload" data-testid="upload-progress-bar" />
            <p className="font-mono text-[11px] text-zinc-400 tabular-nums" data-testid="upload-progress-bytes">
              {formatBytes(sent.loaded)} / {formatBytes(total)} ({formatPercent(fraction)})
              {fraction >= 1 && " — the server is storing the files…"}
            </p>
          </div>
        )}
        {error && <FormError testId="upload-error">{error}</FormError>}
      </div>
    </Modal>
  );
}

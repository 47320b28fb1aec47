import { useState } from "react";
import { Lock } from "lucide-react";
import { datasetsApi, type HubDatasetPreview } from "../../api/datasets";
import { Field, inputClass } from "../../components/Field";
import { DownloadNameField, HubFormActions, HubFormCard, RepoIdField, RevisionField, TokenField, useHubRepoForm } from "../../components/HubRepoForm";
import { formatBytes, formatInteger } from "../../lib/format";
import { useDatasets } from "../../stores/datasets";

/** What the chosen config/split would download. */
function selectionBytes(preview: HubDatasetPreview, config: string, split: string): number {
  const c = preview.configs.find((x) => x.config === config);
  if (!c) return preview.download_bytes;
  return c.splits.filter((s) => !split || s.split === split).reduce((sum, s) => sum + s.bytes, 0);
}

/** The previewed repo: gated/private, licence, and every config/split with its files and size (the chosen ones bright). */
function PreviewSplits({ preview, config, split }: { preview: HubDatasetPreview; config: string; split: string }) {
  return (
    <div className="space-y-2 rounded-md border border-zinc-800 bg-zinc-950/50 p-3 text-xs" data-testid="dataset-preview-card">
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-mono text-sm text-zinc-100">{preview.repo_id}</span>
        <span className="font-mono text-zinc-500">@{preview.revision.slice(0, 12)}</span>
        {preview.gated && (
          <span className="inline-flex items-center gap-1 rounded border border-amber-800 bg-amber-950 px-1.5 text-[11px] text-amber-300">
            <Lock className="size-3" aria-hidden /> gated
          </span>
        )}
        {preview.private && <span className="rounded border border-zinc-700 px-1.5 text-[11px] text-zinc-300">private</span>}
        <span className="ml-auto text-zinc-400">
          licence <span className="font-mono text-zinc-200">{preview.license ?? "—"}</span>
        </span>
      </div>
      <table className="w-full text-left" data-testid="dataset-preview-splits">
        <thead>
          <tr className="border-b border-zinc-800 text-[10px] tracking-wide text-zinc-500 uppercase">
            <th className="py-1 font-medium">Config</th>
            <th className="py-1 font-medium">Split</th>
            <th className="py-1 text-right font-medium">Files</th>
            <th className="py-1 text-right font-medium">Size</th>
          </tr>
        </thead>
        <tbody className="font-mono">
          {preview.configs.flatMap((c) =>
            c.splits.map((s) => {
              const chosen = c.config === config && (!split || split === s.split);
              return (
                <tr key={`${c.config}/${s.split}`} className={chosen ? "text-zinc-100" : "text-zinc-500"}>
                  <td className="py-0.5">{c.config}</td>
                  <td className="py-0.5">{s.split}</td>
                  <td className="py-0.5 text-right">{formatInteger(s.files)}</td>
                  <td className="py-0.5 text-right">{formatBytes(s.bytes)}</td>
                </tr>
              );
            }),
          )}
        </tbody>
      </table>
      <p className="text-zinc-400">
        Downloads <strong className="font-mono text-zinc-100">{formatBytes(selectionBytes(preview, config, split))}</strong> of data
        files (repo total {formatBytes(preview.download_bytes)}), verified against the Hub's hashes, then normalized to text.
      </p>
    </div>
  );
}

/**
 * Repo id → Preview (configs, splits, sizes) → config/split/text column → Download. The token lives in this
 * form's state only: sent with the requests, cleared once a download starts, never stored.
 */
export function HubDownloadForm() {
  const [config, setConfig] = useState("");
  const [split, setSplit] = useState("");
  const [textColumn, setTextColumn] = useState("");
  const [name, setName] = useState("");
  const download = useDatasets((s) => s.download);

  const form = useHubRepoForm<HubDatasetPreview>({
    preview: (repo, signal) => datasetsApi.preview(repo, signal),
    onPreview: (result) => {
      setConfig(result.configs[0]?.config ?? "");
      setSplit("");
    },
    onRetire: () => {
      setConfig("");
      setSplit("");
    },
  });
  const preview = form.preview;

  const runDownload = () =>
    form.runDownload(
      (repo) => download({ ...repo, config: config || null, split: split || null, text_column: textColumn.trim() || null, name: name.trim() || null }),
      () => {
        setTextColumn("");
        setName("");
      },
    );

  const configInfo = preview?.configs.find((c) => c.config === config);
  return (
    <HubFormCard
      form={form}
      testId="dataset-download-form"
      formLabel="Download a dataset"
      columns="lg:grid-cols-[minmax(280px,420px)_1fr]"
      preview={{
        errorTestId: "dataset-preview-error",
        idleText: "Preview lists the repo's configs and splits with their sizes, before anything is downloaded.",
        render: (p) => <PreviewSplits preview={p} config={config} split={split} />,
      }}
    >
      <RepoIdField
        form={form}
        label="Dataset repo id"
        hint="owner/name, as on huggingface.co/datasets"
        placeholder="stanfordnlp/imdb"
        testId="dataset-repo-id"
      />
      <div className="grid grid-cols-2 gap-2">
        <RevisionField form={form} testId="dataset-revision" />
        <TokenField form={form} label="Token (gated repos)" hint="this request only, never stored" testId="dataset-token" />
      </div>
      <div className="grid grid-cols-2 gap-2">
        <Field label="Config" hint={preview ? `${preview.configs.length} in this repo` : "preview to list them"}>
          {({ id, describedBy }) => (
            <select
              id={id}
              className={inputClass}
              value={config}
              onChange={(e) => {
                setConfig(e.target.value);
                setSplit("");
              }}
              disabled={!preview}
              aria-describedby={describedBy}
              data-testid="dataset-config"
            >
              {!preview && <option value="">the only one</option>}
              {preview?.configs.map((c) => (
                <option key={c.config} value={c.config}>
                  {c.config}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Split">
          {({ id }) => (
            <select id={id} className={inputClass} value={split} onChange={(e) => setSplit(e.target.value)} disabled={!preview} data-testid="dataset-split">
              <option value="">every split</option>
              {configInfo?.splits.map((s) => (
                <option key={s.split} value={s.split}>
                  {s.split}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Text column" hint="default: detected ('text', else the longest strings)">
          {({ id, describedBy }) => (
            <input
              id={id}
              className={`${inputClass} font-mono`}
              value={textColumn}
              onChange={(e) => setTextColumn(e.target.value)}
              placeholder="auto"
              aria-describedby={describedBy}
              autoComplete="off"
              spellCheck={false}
              data-testid="dataset-text-column"
            />
          )}
        </Field>
        <DownloadNameField value={name} onChange={setName} testId="dataset-name" />
      </div>
      <HubFormActions
        form={form}
        onDownload={runDownload}
        detail={preview ? formatBytes(selectionBytes(preview, config, split)) : null}
        testIds={{ preview: "dataset-preview-button", download: "dataset-download-button", error: "dataset-download-error" }}
      />
    </HubFormCard>
  );
}

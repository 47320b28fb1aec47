import type { Dataset } from "../../api/datasets";
import { Card } from "../../components/Card";
import { DetailList, DetailRow, JobDetailRow, RenameNotesForm } from "../../components/Details";
import { StatusBadge } from "../../components/StatusBadge";
import { formatBytes, formatInteger, formatTimestamp } from "../../lib/format";
import { Link } from "../../lib/router";
import { useDatasets } from "../../stores/datasets";
import { describeSettings } from "./describe";

/** Rename and notes of the dataset. */
function EditForm({ dataset }: { dataset: Dataset }) {
  const update = useDatasets((s) => s.update);
  const saving = useDatasets((s) => s.pending[dataset.id] === "save");
  return (
    <RenameNotesForm
      item={dataset}
      saving={saving}
      onSave={(patch) => void update(dataset.id, patch)}
      notesPlaceholder="Where the text comes from, what you use it for…"
      testIdPrefix="dataset"
    />
  );
}

/** Overview tab: where the text came from, its splits, and the tokenizations made of it. */
export function OverviewTab({ dataset }: { dataset: Dataset }) {
  const splits = Object.entries(dataset.splits);
  return (
    <div className="grid items-start gap-4 lg:grid-cols-[minmax(300px,420px)_1fr]">
      <Card title="About" bodyClassName="space-y-4 p-3">
        <DetailList testId="dataset-detail-info">
          <DetailRow label="Source">{dataset.source}</DetailRow>
          {dataset.repo_id && <DetailRow label="Repo">{dataset.repo_id}</DetailRow>}
          {dataset.config && <DetailRow label="Config">{dataset.config}</DetailRow>}
          {dataset.split && <DetailRow label="Split">{dataset.split}</DetailRow>}
          {dataset.revision && <DetailRow label="Revision">{dataset.revision}</DetailRow>}
          {dataset.commit_sha && <DetailRow label="Commit">{dataset.commit_sha.slice(0, 12)}</DetailRow>}
          {dataset.source_path && <DetailRow label="Path">{dataset.source_path}</DetailRow>}
          <DetailRow label="Format">{dataset.source_format ?? "by suffix"}</DetailRow>
          <DetailRow label="Text column">{dataset.text_column ?? (dataset.source_format === "txt" || dataset.source === "example" ? "— (plain text)" : "detected")}</DetailRow>
          <DetailRow label=".txt mode">{dataset.txt_mode === "line" ? "one document per line" : "one document per file"}</DetailRow>
          <DetailRow label="Rows">{formatInteger(dataset.num_rows)}</DetailRow>
          <DetailRow label="Text on disk">{formatBytes(dataset.size_bytes)}</DetailRow>
          {dataset.download_bytes !== null && <DetailRow label="Download">{formatBytes(dataset.download_bytes)}</DetailRow>}
          <DetailRow label="Licence">{dataset.license ?? "—"}</DetailRow>
          <DetailRow label="Added">{formatTimestamp(dataset.created_at)}</DetailRow>
          <JobDetailRow jobId={dataset.job_id} />
        </DetailList>
        <EditForm dataset={dataset} />
      </Card>

      <div className="space-y-4">
        <Card title="Splits">
          {splits.length === 0 ? (
            <p className="text-xs text-zinc-500">No text yet: the splits appear once the import finishes.</p>
          ) : (
            <table className="w-full text-left text-xs" data-testid="dataset-splits">
              <thead>
                <tr className="border-b border-zinc-800 text-[10px] tracking-wide text-zinc-500 uppercase">
                  <th className="py-1 font-medium">Split</th>
                  <th className="py-1 text-right font-medium">Rows</th>
                  <th className="py-1 pl-4 font-medium">Share</th>
                </tr>
              </thead>
              <tbody className="font-mono">
                {splits.map(([split, rows]) => {
                  const share = dataset.num_rows ? rows / dataset.num_rows : 0;
                  return (
                    <tr key={split} className="border-b border-zinc-800/60" data-testid={`dataset-split-${split}`}>
                      <td className="py-1 text-zinc-200">
                        <Link href={`/datasets/${dataset.id}?tab=samples&split=${encodeURIComponent(split)}`} className="hover:underline">
                          {split}
                        </Link>
                      </td>
                      <td className="py-1 text-right text-zinc-200">{formatInteger(rows)}</td>
                      <td className="py-1 pl-4">
                        <div className="flex items-center gap-2">
                          <div className="h-1.5 w-40 overflow-hidden rounded-full bg-zinc-800">
                            <div className="h-full bg-sky-600" style={{ width: `${Math.round(share * 100)}%` }} />
                          </div>
                          <span className="text-zinc-500">{(share * 100).toFixed(1)}%</span>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </Card>

        <Card title="Tokenizations">
          {dataset.tokenizations.length === 0 ? (
            <p className="text-xs text-zinc-500">
              None yet.{" "}
              {dataset.ready && (
                <Link href={`/datasets/${dataset.id}?tab=tokenization`} className="text-sky-300 hover:underline">
                  Tokenize it with a model's tokenizer
                </Link>
              )}
            </p>
          ) : (
            <ul className="space-y-1 text-xs" data-testid="dataset-overview-tokenizations">
              {dataset.tokenizations.map((t) => (
                <li key={t.id} className="flex flex-wrap items-center gap-2 font-mono">
                  <StatusBadge status={t.status} />
                  <span className="text-zinc-100">{t.tokenizer_name}</span>
                  <span className="text-zinc-500">{t.split}</span>
                  <span className="text-zinc-400">{describeSettings(t.settings)}</span>
                  {t.num_sequences !== null && (
                    <span className="text-zinc-300">
                      {formatInteger(t.num_sequences)} seq · {formatInteger(t.num_tokens)} tokens
                    </span>
                  )}
                  {t.ready && (
                    <Link href={`/datasets/${dataset.id}?tab=statistics&tokenization=${t.id}`} className="text-sky-300 hover:underline">
                      statistics
                    </Link>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </div>
  );
}

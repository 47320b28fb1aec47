import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Loader2, Save } from "lucide-react";
import type { Dataset } from "../../api/datasets";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { formatBytes, formatInteger, formatTimestamp } from "../../lib/format";
import { Link } from "../../lib/router";
import { useDatasets } from "../../stores/datasets";
import { DatasetStatusBadge } from "./DatasetStatusBadge";
import { describeSettings } from "./describe";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 font-mono break-all text-zinc-200">{children}</dd>
    </>
  );
}

/** Rename and notes; Save is enabled only when something changed. */
function EditForm({ dataset }: { dataset: Dataset }) {
  const [name, setName] = useState(dataset.name);
  const [notes, setNotes] = useState(dataset.notes ?? "");
  const update = useDatasets((s) => s.update);
  const saving = useDatasets((s) => s.pending[dataset.id] === "save");
  // A refetch (another tab, the CLI) brings new values in unless the user is editing them.
  const [base, setBase] = useState({ name: dataset.name, notes: dataset.notes ?? "" });
  useEffect(() => {
    const next = { name: dataset.name, notes: dataset.notes ?? "" };
    if (next.name === base.name && next.notes === base.notes) return;
    if (name === base.name) setName(next.name);
    if (notes === base.notes) setNotes(next.notes);
    setBase(next);
  }, [dataset.name, dataset.notes]);

  const nameProblem = name.trim() === "" ? "A name cannot be empty." : null;
  const dirty = name.trim() !== dataset.name || notes !== (dataset.notes ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (nameProblem || !dirty) return;
    const patch: { name?: string; notes?: string } = {};
    if (name.trim() !== dataset.name) patch.name = name.trim();
    if (notes !== (dataset.notes ?? "")) patch.notes = notes;
    void update(dataset.id, patch);
  };
  return (
    <form className="space-y-2" onSubmit={submit} aria-label="Rename and notes" data-testid="dataset-edit-form">
      <Field label="Name" error={nameProblem}>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            className={inputClass}
            value={name}
            maxLength={255}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid="dataset-edit-name"
          />
        )}
      </Field>
      <Field label="Notes">
        {({ id }) => (
          <textarea
            id={id}
            className={`${inputClass} min-h-20 font-sans`}
            value={notes}
            maxLength={10_000}
            onChange={(e) => setNotes(e.target.value)}
            placeholder="Where the text comes from, what you use it for…"
            data-testid="dataset-edit-notes"
          />
        )}
      </Field>
      <Button type="submit" size="sm" variant="primary" disabled={!dirty || Boolean(nameProblem) || saving} data-testid="dataset-edit-save">
        {saving ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Save className="size-3" aria-hidden />} Save
      </Button>
    </form>
  );
}

/** Overview tab: where the text came from, its splits, and the tokenizations made of it. */
export function OverviewTab({ dataset }: { dataset: Dataset }) {
  const splits = Object.entries(dataset.splits);
  return (
    <div className="grid items-start gap-4 lg:grid-cols-[minmax(300px,420px)_1fr]">
      <Card title="About" bodyClassName="space-y-4 p-3">
        <dl className="grid grid-cols-[7rem_1fr] gap-x-2 gap-y-1 text-xs" data-testid="dataset-detail-info">
          <Row label="Source">{dataset.source}</Row>
          {dataset.repo_id && <Row label="Repo">{dataset.repo_id}</Row>}
          {dataset.config && <Row label="Config">{dataset.config}</Row>}
          {dataset.split && <Row label="Split">{dataset.split}</Row>}
          {dataset.revision && <Row label="Revision">{dataset.revision}</Row>}
          {dataset.commit_sha && <Row label="Commit">{dataset.commit_sha.slice(0, 12)}</Row>}
          {dataset.source_path && <Row label="Path">{dataset.source_path}</Row>}
          <Row label="Format">{dataset.source_format ?? "by suffix"}</Row>
          <Row label="Text column">{dataset.text_column ?? (dataset.source_format === "txt" || dataset.source === "example" ? "— (plain text)" : "detected")}</Row>
          <Row label=".txt mode">{dataset.txt_mode === "line" ? "one document per line" : "one document per file"}</Row>
          <Row label="Rows">{formatInteger(dataset.num_rows)}</Row>
          <Row label="Text on disk">{formatBytes(dataset.size_bytes)}</Row>
          {dataset.download_bytes !== null && <Row label="Download">{formatBytes(dataset.download_bytes)}</Row>}
          <Row label="Licence">{dataset.license ?? "—"}</Row>
          <Row label="Added">{formatTimestamp(dataset.created_at)}</Row>
          {dataset.job_id && (
            <Row label="Job">
              <Link href={`/jobs?job=${dataset.job_id}`} className="text-sky-300 hover:underline">
                {dataset.job_id}
              </Link>
            </Row>
          )}
        </dl>
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
              {dataset.status === "ready" && (
                <Link href={`/datasets/${dataset.id}?tab=tokenization`} className="text-sky-300 hover:underline">
                  Tokenize it with a model's tokenizer
                </Link>
              )}
            </p>
          ) : (
            <ul className="space-y-1 text-xs" data-testid="dataset-overview-tokenizations">
              {dataset.tokenizations.map((t) => (
                <li key={t.id} className="flex flex-wrap items-center gap-2 font-mono">
                  <DatasetStatusBadge status={t.status} />
                  <span className="text-zinc-100">{t.tokenizer_name}</span>
                  <span className="text-zinc-500">{t.split}</span>
                  <span className="text-zinc-400">{describeSettings(t.settings)}</span>
                  {t.num_sequences !== null && (
                    <span className="text-zinc-300">
                      {formatInteger(t.num_sequences)} seq · {formatInteger(t.num_tokens)} tokens
                    </span>
                  )}
                  {t.status === "ready" && (
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

import { useState } from "react";
import { ShieldAlert } from "lucide-react";
import { modelsApi } from "../../api/models";
import type { ModelFormat, Preview } from "../../api/types";
import { Field, inputClass } from "../../components/Field";
import { DownloadNameField, HubFormActions, HubFormCard, RepoIdField, RevisionField, TokenField, useHubRepoForm } from "../../components/HubRepoForm";
import { useModels } from "../../stores/models";
import { PreviewCard } from "./PreviewCard";

function parseBudget(value: string): number | undefined {
  const n = Number.parseFloat(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Repo id → Preview → format → Download. The token lives in this form's state only: it is sent with
 * the request, cleared after a download starts, and never written to any store or storage.
 */
export function DownloadForm() {
  const [budget, setBudget] = useState("");
  const [name, setName] = useState("");
  const [trustRemoteCode, setTrustRemoteCode] = useState(false);
  const [format, setFormat] = useState<ModelFormat | null>(null);
  const [previewBudget, setPreviewBudget] = useState<string>("");
  const download = useModels((s) => s.download);

  const budgetValue = parseBudget(budget);
  const budgetInvalid = budget.trim() !== "" && budgetValue === undefined;

  const form = useHubRepoForm<Preview>({
    preview: (repo, signal) => modelsApi.preview({ ...repo, budget_gb: budgetValue ?? null }, signal),
    onPreview: (result) => {
      setPreviewBudget(budget);
      if (format && !result.formats.some((f) => f.format === format && f.available)) setFormat(null);
    },
    onRetire: () => setFormat(null),
    blocked: budgetInvalid,
  });
  const preview = form.preview;

  const runDownload = () =>
    form.runDownload(
      (repo) => download({ ...repo, format, name: name.trim() || null, trust_remote_code: trustRemoteCode }),
      () => {
        setName("");
        setTrustRemoteCode(false);
      },
    );

  return (
    <HubFormCard
      form={form}
      testId="model-download-form"
      formLabel="Download a model"
      columns="lg:grid-cols-[minmax(280px,380px)_1fr]"
      preview={{
        errorTestId: "preview-error",
        idleText: "Preview shows the family, parameter count, files, licence and the memory each format needs — before anything is downloaded.",
        render: (p) => <PreviewCard preview={p} format={format} onFormatChange={setFormat} stale={previewBudget !== budget} />,
      }}
    >
      <RepoIdField
        form={form}
        label="Repo id"
        hint="owner/name, as on huggingface.co"
        placeholder="HuggingFaceTB/SmolLM2-135M-Instruct"
        testId="download-repo-id"
        required
      />
      <div className="grid grid-cols-3 gap-2">
        <RevisionField form={form} testId="download-revision" />
        <Field label="Budget (GB)" hint="memory; default 6" error={budgetInvalid ? "A positive number." : null}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              className={inputClass}
              type="number"
              min={0.1}
              step={0.5}
              inputMode="decimal"
              value={budget}
              onChange={(e) => setBudget(e.target.value)}
              placeholder="6"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              data-testid="download-budget"
            />
          )}
        </Field>
        <DownloadNameField value={name} onChange={setName} testId="download-name" />
      </div>
      <TokenField
        form={form}
        label="Hugging Face token (gated repos)"
        hint="Sent with this request only, never stored. Empty: your standard HF login, if any."
        testId="download-token"
      />

      <div className="rounded border border-amber-900/60 bg-amber-950/20 p-2">
        <label className="flex items-start gap-2 text-xs text-zinc-200">
          <input
            type="checkbox"
            className="mt-0.5 accent-amber-500"
            checked={trustRemoteCode}
            onChange={(e) => setTrustRemoteCode(e.target.checked)}
            aria-describedby="trust-remote-code-warning"
            data-testid="trust-remote-code"
          />
          <span>
            Trust remote code <span className="font-mono text-zinc-500">(trust_remote_code)</span>
          </span>
        </label>
        <p id="trust-remote-code-warning" className="mt-1 flex gap-1.5 text-[11px] text-amber-200/90">
          <ShieldAlert className="mt-px size-3.5 shrink-0" aria-hidden />
          <span>
            Lets the repo run its own Python code on this machine, with your permissions, every time the model loads. Only for
            repos whose code you have read or whose authors you trust. Off by default.
          </span>
        </p>
        {preview?.requires_trust_remote_code && !trustRemoteCode && (
          <p className="mt-1 text-[11px] text-amber-300" data-testid="trust-remote-code-needed">
            This repo needs it: without it, the model is stored as incompatible.
          </p>
        )}
      </div>

      <HubFormActions
        form={form}
        onDownload={runDownload}
        detail={format ? format.toUpperCase() : null}
        testIds={{ preview: "preview-button", download: "download-button", error: "download-error" }}
      />
    </HubFormCard>
  );
}

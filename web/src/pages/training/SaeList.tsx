/** /training/saes — every stored SAE, trained here or imported, newest first; import one from the server's disk. */
import { useState } from "react";
import { ArrowLeft, FolderInput } from "lucide-react";
import { trainingApi, type SAE } from "../../api/training";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { PageHeader } from "../../components/ListView";
import { Table, type Column } from "../../components/Table";
import { Link, navigate } from "../../lib/router";
import { SAE_COLUMNS, useLoad } from "./SaeViews";
import { SaeImportDialog } from "./SaeImportDialog";

const LIMIT = 200;

// The model a stored SAE reads (an imported one may have none); its page opens from the SAE's.
export const MODEL_COLUMN: Column<SAE> = {
  key: "model",
  header: "Model",
  render: (s) => <span className="block max-w-48 truncate text-zinc-300" title={s.model_name ?? undefined}>{s.model_name ?? "—"}</span>,
};
const COLUMNS = [SAE_COLUMNS[0]!, MODEL_COLUMN, ...SAE_COLUMNS.slice(1)];

export function SaeList() {
  const [version, setVersion] = useState(0);
  const [importing, setImporting] = useState(false);
  const { value, error } = useLoad((signal) => trainingApi.listSaes({ limit: LIMIT }, signal), String(version));
  const total = value?.pagination.total;
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="sae-list">
      <Link href="/training" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
        <ArrowLeft className="size-3.5" aria-hidden /> Training
      </Link>
      <PageHeader title="SAEs" description="Every SAE the studio keeps (SAELens layout): trained here, or imported from a SAELens or sparsify folder.">
        <Button variant="primary" onClick={() => setImporting(true)} data-testid="sae-list-import">
          <FolderInput className="size-3.5" aria-hidden /> Import an SAE
        </Button>
      </PageHeader>
      <Card title={`Stored SAEs (${total ?? "…"})`}>
        {error && <FormError testId="sae-list-error">{error}</FormError>}
        <Table
          columns={COLUMNS}
          rows={value?.items ?? []}
          rowKey={(s) => s.id}
          caption="Stored SAEs"
          onRowClick={(s) => navigate(`/training/saes/${s.id}`)}
          rowTestId={(s) => `sae-row-${s.id}`}
          empty={value ? "No SAE yet: train one, or import one from disk." : "Loading…"}
          data-testid="sae-list-table"
        />
        {total !== undefined && total > LIMIT && <p className="mt-2 text-[11px] text-zinc-500">The newest {LIMIT} of {total}.</p>}
      </Card>
      <SaeImportDialog open={importing} onClose={() => setImporting(false)} onImported={() => setVersion((v) => v + 1)} />
    </div>
  );
}

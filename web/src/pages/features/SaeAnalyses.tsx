/** /features/saes/:id — one SAE: start an analysis of it, and its analyses live (a row opens the latents). */
import { useEffect } from "react";
import { ArrowLeft } from "lucide-react";
import type { Analysis } from "../../api/features";
import { trainingApi } from "../../api/training";
import { Card } from "../../components/Card";
import { PageHeader, useListLoader } from "../../components/ListView";
import { formatInteger } from "../../lib/format";
import { Link } from "../../lib/router";
import { useAnalyses } from "../../stores/features";
import { useLoad } from "../training/SaeViews";
import { AnalysisList } from "./AnalysisList";
import { AnalyzeForm } from "./AnalyzeForm";

export function SaeAnalyses({ saeId }: { saeId: string }) {
  const { value: sae, error } = useLoad((signal) => trainingApi.getSae(saeId, signal), saeId);
  const showSae = useAnalyses((s) => s.showSae);
  const fetchList = useAnalyses((s) => s.fetchList);
  const start = useAnalyses((s) => s.start);
  const analyses = useAnalyses((s) => s.analyses);
  const listIds = useAnalyses((s) => s.listIds);
  const loaded = useAnalyses((s) => s.listLoaded && s.query.saeId === saeId);
  useEffect(() => showSae(saeId), [saeId, showSae]);
  useListLoader((signal) => void fetchList(signal), [saeId, fetchList]);
  const rows = listIds.map((id) => analyses[id]).filter((a): a is Analysis => a !== undefined && a.sae_id === saeId);
  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="sae-analyses" data-sae-id={saeId}>
      <Link href="/features" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
        <ArrowLeft className="size-3.5" aria-hidden /> Features
      </Link>
      <PageHeader
        title={sae?.name ?? "SAE"}
        description={
          sae ? (
            <>
              {sae.architecture} · {sae.hook_point ?? "—"} · {formatInteger(sae.d_sae)} latents · {sae.model_name ?? "no model"} ·{" "}
              <Link href={`/training/saes/${sae.id}`} className="text-sky-300 hover:underline">
                the SAE
              </Link>
            </>
          ) : (
            (error ?? "Loading…")
          )
        }
      />
      {sae && (
        <Card title="Analyse its latents">
          {sae.model_id ? (
            <AnalyzeForm sae={sae} onStart={(body) => start(sae.id, body)} />
          ) : (
            <p className="text-xs text-amber-300">This SAE names no model of the studio, so there is nothing to run it on: import its model first.</p>
          )}
        </Card>
      )}
      <Card title={`Analyses (${loaded ? rows.length : "…"})`} data-testid="sae-analyses-list">
        <AnalysisList analyses={rows} loaded={loaded} />
      </Card>
    </div>
  );
}

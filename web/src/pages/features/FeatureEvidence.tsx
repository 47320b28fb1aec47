/** The evidence about one latent besides its examples: statistics, the logit lens, and the latents related to it. */
import type { FeatureDetail } from "../../api/features";
import { DetailList, DetailRow } from "../../components/Details";
import { formatInteger, formatPercent } from "../../lib/format";
import { Link } from "../../lib/router";
import { formatActivation, visibleToken } from "./ExampleTokens";

export const latentHref = (analysisId: string, latent: number): string => `/features/analyses/${analysisId}/latents/${latent}`;

export function FeatureStatistics({ feature }: { feature: FeatureDetail }) {
  return (
    <DetailList testId="feature-statistics">
      <DetailRow label="Frequency">
        {formatPercent(feature.frequency)} of tokens ({formatInteger(feature.active_count)})
      </DetailRow>
      <DetailRow label="Max">{formatActivation(feature.max_activation)}</DetailRow>
      <DetailRow label="Mean">{formatActivation(feature.mean_activation)} (all tokens)</DetailRow>
      <DetailRow label="Mean if active">{feature.mean_when_active === null ? "—" : formatActivation(feature.mean_when_active)}</DetailRow>
      <DetailRow label="Ablation">
        {/* The row breaks anywhere (for ids); this is prose. */}
        <span className="break-normal" data-testid="feature-ablation">
          {feature.ablation_mean_delta_loss === null
            ? "not measured (analyse with “ablate top examples” > 0)"
            : `Δ next-token loss ${formatActivation(feature.ablation_mean_delta_loss)} (mean, zeroed at its peaks)`}
        </span>
      </DetailRow>
      {feature.dead && <DetailRow label="Dead">never fired on the analysed tokens</DetailRow>}
      {feature.label_model && (
        <DetailRow label="Label by">
          {feature.label_model}
          {feature.label_prompt_version && ` (prompts ${feature.label_prompt_version})`}
        </DetailRow>
      )}
      {feature.label_score !== null && (
        <DetailRow label="Label score">
          <span className="break-normal" data-testid="feature-label-scores">
            {feature.label_score.toFixed(2)}: detection {feature.detection_score?.toFixed(2) ?? "—"}, fuzzing {feature.fuzzing_score?.toFixed(2) ?? "—"} (balanced accuracy, 0.5 is chance)
          </span>
        </DetailRow>
      )}
    </DetailList>
  );
}

function TokenList({ title, tokens, tone, testId }: { title: string; tokens: FeatureDetail["promoted"]; tone: string; testId: string }) {
  return (
    <div className="min-w-0 flex-1">
      <h3 className="mb-1 text-[11px] font-medium text-zinc-400 uppercase">{title}</h3>
      {tokens.length === 0 ? (
        <p className="text-xs text-zinc-500">Not computed.</p>
      ) : (
        <ol className="space-y-0.5 font-mono text-xs" data-testid={testId}>
          {tokens.map((t) => (
            <li key={t.token} className="flex justify-between gap-2">
              <span className="truncate rounded bg-zinc-800 px-1 whitespace-pre text-zinc-100" title={`token ${t.token}`}>
                {visibleToken(t.text)}
              </span>
              <span className={tone}>{formatActivation(t.value)}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The decoder direction through the unembedding: the tokens it pushes up and down. */
export function LogitLens({ feature }: { feature: FeatureDetail }) {
  return (
    <div className="flex gap-4" data-testid="feature-logit-lens">
      <TokenList title="Promoted" tokens={feature.promoted} tone="text-emerald-300" testId="feature-promoted" />
      <TokenList title="Suppressed" tokens={feature.suppressed} tone="text-red-300" testId="feature-suppressed" />
    </div>
  );
}

function RelatedList({ title, analysisId, related, testId }: { title: string; analysisId: string; related: FeatureDetail["neighbours"]; testId: string }) {
  return (
    <div className="min-w-0 flex-1">
      <h3 className="mb-1 text-[11px] font-medium text-zinc-400 uppercase">{title}</h3>
      {related.length === 0 ? (
        <p className="text-xs text-zinc-500">None computed.</p>
      ) : (
        <ol className="space-y-0.5 text-xs" data-testid={testId}>
          {related.map((r) => (
            <li key={r.latent} className="flex justify-between gap-2">
              <Link href={latentHref(analysisId, r.latent)} className="min-w-0 truncate text-sky-300 hover:underline" data-testid={`${testId}-${r.latent}`}>
                #{r.latent}
                {r.label && <span className="ml-1 text-zinc-400">{r.label}</span>}
              </Link>
              <span className="font-mono text-zinc-300">{r.value.toFixed(3)}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** Nearest latents by decoder cosine, and the latents that fire together with this one (correlation). */
export function RelatedLatents({ feature, analysisId }: { feature: FeatureDetail; analysisId: string }) {
  return (
    <div className="flex gap-4">
      <RelatedList title="Neighbours (decoder cosine)" analysisId={analysisId} related={feature.neighbours} testId="feature-neighbours" />
      <RelatedList title="Correlated (co-activation)" analysisId={analysisId} related={feature.correlations} testId="feature-correlations" />
    </div>
  );
}

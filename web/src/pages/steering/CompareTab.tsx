import { Loader2, Play, Square } from "lucide-react";
import { steeringApi, type CompareResult } from "../../api/steering";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { compareBody, positionsOf, type SteeringDraft } from "./draft";
import { MetricsPanel } from "./MetricsPanel";
import { BASELINE, STEERED, textOf, tokensOf } from "./streams";
import { StreamsView } from "./StreamsView";
import type { SteeringRun } from "./useSteeringRun";

/** Run baseline and steered with one seed, watch both stream, then read the metrics. */
export function CompareTab({ draft, run, onDone }: { draft: SteeringDraft; run: SteeringRun<CompareResult>; onDone: () => void }) {
  const running = run.state === "running" || run.state === "stopping";
  const result = run.result;
  const ready = Boolean(draft.modelId && draft.prompt.trim() && draft.items.length > 0);
  // While streaming, the text is the tokens so far; once answered, the server's texts (complete even if an event was missed).
  const baselineText = result ? result.baseline.text : textOf(run.streams, BASELINE);
  const steeredText = result ? result.steered.text : textOf(run.streams, STEERED);

  function start(): void {
    void run.start((requestId) => steeringApi.compare(compareBody(draft, requestId))).then(onDone);
  }

  return (
    <div className="space-y-3" data-testid="compare-tab">
      <Card title="Compare" bodyClassName="space-y-3 p-3"
        actions={result && <span className="text-[11px] text-zinc-500" data-testid="compare-figures">
          seed {result.seed} · {result.format} on {result.device} · {result.seconds.toFixed(1)}s · ended by {result.steered.finish_reason}
        </span>}>
        <div className="flex flex-wrap items-center gap-2">
          <Button variant="primary" onClick={start} disabled={running || !ready} data-testid="compare-run">
            {running ? <Loader2 className="size-4 animate-spin" aria-hidden /> : <Play className="size-4" aria-hidden />}
            Run baseline and steered
          </Button>
          {running && (
            <Button onClick={run.stop} disabled={run.state === "stopping"} data-testid="compare-stop">
              <Square className="size-4" aria-hidden /> {run.state === "stopping" ? "Stopping…" : "Stop"}
            </Button>
          )}
          {!ready && !running && <span className="text-xs text-zinc-500">Pick a model, add an intervention and write a prompt.</span>}
        </div>
        {result && <p className="text-xs text-zinc-400" data-testid="compare-interventions">Applied: {result.interventions.join("; ")}</p>}
        {run.error && <FormError testId="compare-error">{run.error}</FormError>}
        <StreamsView baselineText={baselineText} steeredText={steeredText} baselineTokens={tokensOf(run.streams, BASELINE)}
          steeredTokens={tokensOf(run.streams, STEERED)} positions={positionsOf(draft)}
          promptTokens={result?.steered.prompt_tokens ?? null} running={running} />
      </Card>
      {result && <MetricsPanel metrics={result.metrics} />}
    </div>
  );
}

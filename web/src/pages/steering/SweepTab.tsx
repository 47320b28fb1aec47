import { useState } from "react";
import { Loader2, Play, Square } from "lucide-react";
import { steeringApi, type SweepResult } from "../../api/steering";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { Table } from "../../components/Table";
import { parseStrengths, sweepBody, type SteeringDraft } from "./draft";
import { formatFigure } from "./figures";
import { BASELINE, textOf } from "./streams";
import { SweepChart } from "./SweepChart";
import type { SteeringRun } from "./useSteeringRun";

/** A grid of strengths for the first intervention → each metric against strength, and the outputs. */
export function SweepTab({ draft, run, onDone, initialStrengths }: {
  draft: SteeringDraft; run: SteeringRun<SweepResult>; onDone: () => void; initialStrengths: number[] | null;
}) {
  const [strengths, setStrengths] = useState(initialStrengths?.join(", ") ?? "0, 2, 4, 8");
  const [problem, setProblem] = useState<string | null>(null);
  const running = run.state === "running" || run.state === "stopping";
  const first = draft.items[0];

  function start(): void {
    const grid = parseStrengths(strengths);
    if (typeof grid === "string") return setProblem(grid);
    setProblem(null);
    void run.start((requestId) => steeringApi.sweep(sweepBody(draft, grid, requestId))).then(onDone);
  }

  const streamed = Object.keys(run.streams).filter((name) => name !== BASELINE);
  const grid = parseStrengths(strengths);
  const expectedRuns = typeof grid === "string" ? "?" : grid.length * 2;
  const result = run.result;
  return (
    <div className="space-y-3" data-testid="sweep-tab">
      <Card title="Strength sweep" bodyClassName="space-y-3 p-3">
        <p className="text-xs text-zinc-400">
          {first ? <>Sweeps the first intervention ({first.kind === "feature" ? `feature #${first.feature}, ${first.mode}` : `direction ${first.name}`}),
            with a random direction of the same norm at each strength as the control.</> : "Add an intervention to sweep."}
        </p>
        <div className="flex flex-wrap items-end gap-2">
          <Field label="Strengths" hint="a list (0, 2, 4, 8) or a range start:stop:count (0:8:5)" error={problem} className="min-w-64 flex-1">
            {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} className={inputClass}
              value={strengths} onChange={(e) => setStrengths(e.target.value)} data-testid="sweep-strengths" />}
          </Field>
          <Button variant="primary" onClick={start} disabled={running || !first || !draft.modelId || !draft.prompt.trim()} data-testid="sweep-run">
            {running ? <Loader2 className="size-4 animate-spin" aria-hidden /> : <Play className="size-4" aria-hidden />}
            Run sweep
          </Button>
          {running && (
            <Button onClick={run.stop} disabled={run.state === "stopping"} data-testid="sweep-stop">
              <Square className="size-4" aria-hidden /> {run.state === "stopping" ? "Stopping…" : "Stop"}
            </Button>
          )}
        </div>
        {running && (
          <div className="space-y-1" data-testid="sweep-progress">
            <p className="text-xs text-zinc-400">
              {streamed.length ? `Generating: ${streamed.length} of ${expectedRuns} steered runs started` : "Waiting for the model host…"}
            </p>
            {/* Each run's text as it streams; the table with the metrics replaces it when the sweep answers. */}
            <ul className="space-y-0.5 font-mono text-xs">
              {[BASELINE, ...streamed].filter((name) => run.streams[name]).map((name) => (
                <li key={name} className="truncate"><span className="text-zinc-500">{name}:</span> {textOf(run.streams, name)}</li>
              ))}
            </ul>
          </div>
        )}
        {run.error && <FormError testId="sweep-error">{run.error}</FormError>}
      </Card>
      {result && (
        <>
          <Card title="Metrics against strength" bodyClassName="space-y-2 p-3"
            actions={<span className="text-[11px] text-zinc-500" data-testid="sweep-figures">
              seed {result.seed} · {result.format} on {result.device} · {result.seconds.toFixed(1)}s</span>}>
            <p className="text-xs text-zinc-400">Swept: {result.intervention}</p>
            <SweepChart points={result.points} />
            {result.random_direction && <p className="mt-1 text-[11px] text-zinc-500">control: {result.random_direction}</p>}
          </Card>
          <Card title="Outputs" bodyClassName="p-0">
            <Table data-testid="sweep-outputs" caption="The sweep's outputs" rowKey={(row) => row.key}
              rows={[{ key: "baseline", strength: null, kind: "baseline", text: result.baseline.text, kl: null as number | null, ppl: null as number | null },
                ...result.points.map((p) => ({ key: `${p.kind}@${p.strength}`, strength: p.strength, kind: p.kind, text: p.run.text, kl: p.metrics.kl_mean, ppl: p.metrics.perplexity_steered }))]}
              rowTestId={(row) => `sweep-output-${row.key}`}
              columns={[
                { key: "strength", header: "Strength", render: (row) => (row.strength === null ? "—" : row.strength) },
                { key: "kind", header: "Run", render: (row) => row.kind },
                { key: "kl", header: "KL", render: (row) => formatFigure(row.kl) },
                { key: "ppl", header: "Perplexity", render: (row) => formatFigure(row.ppl) },
                { key: "text", header: "Output", className: "whitespace-pre-wrap font-mono min-w-80", render: (row) => row.text },
              ]} />
          </Card>
        </>
      )}
    </div>
  );
}

import { useEffect, useRef, useState } from "react";
import { Loader2, Play, Square } from "lucide-react";
import { messageOf } from "../../api/client";
import { eventOn } from "../../api/events";
import { modelsApi } from "../../api/models";
import type { GenerateDone, Model } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { socket } from "../../stores/live";

const CHANNEL = "models/{model_id}/generate/{request_id}" as const;

type RunState = "idle" | "running" | "done" | "error";

/** A request id made here, so the channel is subscribed before the server can send its first token. */
function newRequestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function numberOr(value: string, fallback: number): number {
  const parsed = Number(value);
  return value.trim() === "" || Number.isNaN(parsed) ? fallback : parsed;
}

/** The figures of a finished generation, in one line. */
function describeDone(done: GenerateDone): string {
  const first = done.first_token_seconds !== null ? `, first token after ${done.first_token_seconds.toFixed(2)}s` : "";
  const load = done.warm ? "model already loaded" : `model loaded in ${done.load_seconds.toFixed(1)}s`;
  return `${done.tokens} tokens in ${done.seconds.toFixed(2)}s${first} (${load}; ${done.format} on ${done.device}) · seed ${done.seed} · ended by ${done.finish_reason}`;
}

/** The Playground tab: a prompt, generation options, and the text streamed token by token from the model host. */
export function PlaygroundPanel({ model }: { model: Model }) {
  const [prompt, setPrompt] = useState("");
  const [maxNewTokens, setMaxNewTokens] = useState("64");
  const [temperature, setTemperature] = useState("0");
  const [topP, setTopP] = useState("1");
  const [seed, setSeed] = useState("");
  const [chatTemplate, setChatTemplate] = useState(true);
  const [state, setState] = useState<RunState>("idle");
  const [output, setOutput] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<GenerateDone | null>(null);
  const current = useRef<{ requestId: string; unsubscribe: () => void } | null>(null);

  useEffect(() => {
    const off = socket.onMessage((msg) => {
      const event = eventOn(CHANNEL, ["token", "done", "error"], msg);
      const running = current.current;
      if (!event || !running || event.ids.request_id !== running.requestId) return;
      if (event.event === "token") {
        setOutput((text) => text + event.data.text);
        return;
      }
      running.unsubscribe();
      current.current = null;
      if (event.event === "done") {
        setOutput(event.data.text); // the whole text: complete even if a token event was missed
        setDone(event.data);
        setState("done");
      } else {
        setError(event.data.message);
        setState("error");
      }
    });
    return () => {
      off();
      current.current?.unsubscribe();
      current.current = null;
    };
  }, []);

  async function start(): Promise<void> {
    const requestId = newRequestId();
    const unsubscribe = socket.subscribe(`models/${model.id}/generate/${requestId}`);
    current.current = { requestId, unsubscribe };
    setOutput("");
    setError(null);
    setDone(null);
    setState("running");
    try {
      await modelsApi.generate(model.id, {
        prompt,
        request_id: requestId,
        max_new_tokens: numberOr(maxNewTokens, 64),
        temperature: numberOr(temperature, 0),
        top_p: numberOr(topP, 1),
        seed: seed.trim() === "" ? null : numberOr(seed, 0),
        use_chat_template: chatTemplate ? null : false,
      });
    } catch (e) {
      unsubscribe();
      current.current = null;
      setError(messageOf(e));
      setState("error");
    }
  }

  function stop(): void {
    const running = current.current;
    if (running) void modelsApi.stopGeneration(model.id, running.requestId).catch((e) => setError(messageOf(e)));
  }

  const running = state === "running";
  return (
    <div className="grid items-start gap-4 lg:grid-cols-[minmax(300px,380px)_1fr]" data-testid="playground">
      <Card title="Prompt" bodyClassName="space-y-3 p-3">
        {/* noValidate: the server checks the options and its message is shown, one rule in one place. */}
        <form
          className="space-y-3"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!running && prompt.trim()) void start();
          }}
        >
          <Field label="Prompt">
            {({ id }) => (
              <textarea id={id} className={`${inputClass} min-h-32 font-mono`} value={prompt}
                onChange={(e) => setPrompt(e.target.value)} placeholder="The capital of France is"
                data-testid="playground-prompt" />
            )}
          </Field>
          <div className="grid grid-cols-2 gap-3">
            <Field label="Max new tokens">
              {({ id }) => <input id={id} type="number" min={1} max={2048} className={inputClass} value={maxNewTokens}
                onChange={(e) => setMaxNewTokens(e.target.value)} data-testid="playground-max-new-tokens" />}
            </Field>
            <Field label="Temperature" hint="0: greedy">
              {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="number" min={0} max={5}
                step={0.1} className={inputClass} value={temperature} onChange={(e) => setTemperature(e.target.value)}
                data-testid="playground-temperature" />}
            </Field>
            <Field label="Top p">
              {({ id }) => <input id={id} type="number" min={0.01} max={1} step={0.05} className={inputClass} value={topP}
                onChange={(e) => setTopP(e.target.value)} data-testid="playground-top-p" />}
            </Field>
            <Field label="Seed" hint="same seed, same text">
              {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="number" min={0}
                className={inputClass} value={seed} placeholder="random" onChange={(e) => setSeed(e.target.value)}
                data-testid="playground-seed" />}
            </Field>
          </div>
          <label className="flex items-center gap-2 text-xs text-zinc-300">
            <input type="checkbox" checked={chatTemplate} onChange={(e) => setChatTemplate(e.target.checked)}
              data-testid="playground-chat-template" />
            Use the chat template (when the model has one)
          </label>
          <div className="flex gap-2">
            <Button type="submit" variant="primary" disabled={running || !prompt.trim()} data-testid="playground-generate">
              {running ? <Loader2 className="size-4 animate-spin" aria-hidden /> : <Play className="size-4" aria-hidden />}
              Generate
            </Button>
            {running && (
              <Button onClick={stop} data-testid="playground-stop">
                <Square className="size-4" aria-hidden />
                Stop
              </Button>
            )}
          </div>
        </form>
      </Card>
      <Card title="Output" bodyClassName="space-y-2 p-3">
        <pre className="min-h-32 whitespace-pre-wrap break-words font-mono text-sm text-zinc-100" aria-live="polite"
          data-testid="playground-output" data-state={state}>
          {output || (running ? "" : <span className="text-zinc-600">The generated text appears here, token by token.</span>)}
        </pre>
        {error && <FormError testId="playground-error">{error}</FormError>}
        {done && <p className="text-[11px] text-zinc-500" data-testid="playground-figures">{describeDone(done)}</p>}
      </Card>
    </div>
  );
}

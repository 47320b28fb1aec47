/** "Your own text": run text through the model host and see this latent on every token, and the text's top latents. */
import { useState, type FormEvent } from "react";
import { Loader2, Play } from "lucide-react";
import { messageOf } from "../../api/client";
import { featuresApi, type ProbeResult } from "../../api/features";
import { Button } from "../../components/Button";
import { Field, inputClass } from "../../components/Field";
import { FormError } from "../../components/FormError";
import { Link } from "../../lib/router";
import { ExampleTokens, formatActivation, type TokenWindow } from "./ExampleTokens";
import { latentHref } from "./FeatureEvidence";

/** The server's limit on the text (probe_schemas.MAX_PROBE_CHARS); the model's context is checked there in tokens. */
export const MAX_PROBE_CHARS = 100_000;
const TOP_LATENTS = 10;

/** The probe's tokens as a window; a token where nothing fired (null) shows as silent. */
export function probeWindow(result: ProbeResult): TokenWindow {
  return {
    tokens: result.tokens.map((t) => t.token),
    texts: result.tokens.map((t) => t.text),
    activations: result.tokens.map((t) => t.activation ?? 0),
  };
}

export function ProbePanel({ analysisId, latent, scale }: { analysisId: string; latent: number; scale: number }) {
  const [text, setText] = useState("");
  const [result, setResult] = useState<ProbeResult | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const tooLong = text.length > MAX_PROBE_CHARS ? `Text: at most ${MAX_PROBE_CHARS.toLocaleString("en-US")} characters` : null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() || tooLong) return;
    setRunning(true);
    setError(null);
    try {
      setResult(await featuresApi.probe(analysisId, { text, latent, top: TOP_LATENTS }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setRunning(false);
    }
  };
  // An answer for another latent (the page moved on) is not this one's.
  const shown = result?.latent === latent ? result : null;
  return (
    <div className="space-y-2" data-testid="feature-probe">
      <form className="space-y-2" onSubmit={(e) => void submit(e)}>
        <Field label="Text" error={tooLong} hint="Runs in the model host (the model is loaded the first time)." data-testid="feature-probe-text-field">
          {({ id, describedBy, invalid }) => (
            <textarea id={id} rows={2} aria-describedby={describedBy} aria-invalid={invalid} className={inputClass} value={text} onChange={(e) => setText(e.target.value)} placeholder="The king rode to the castle…" data-testid="feature-probe-text" />
          )}
        </Field>
        <Button type="submit" size="sm" disabled={!text.trim() || running || Boolean(tooLong)} data-testid="feature-probe-run">
          {running ? <Loader2 className="size-3 animate-spin" aria-hidden /> : <Play className="size-3" aria-hidden />} Show activations
        </Button>
      </form>
      {error && <FormError testId="feature-probe-error">{error}</FormError>}
      {shown && (
        <div className="grid gap-3 lg:grid-cols-[2fr_1fr]">
          <div>
            <h3 className="mb-1 text-[11px] font-medium text-zinc-400 uppercase">Latent #{latent} on each token</h3>
            <ExampleTokens example={probeWindow(shown)} scale={scale} testId="feature-probe-tokens" />
          </div>
          <div>
            <h3 className="mb-1 text-[11px] font-medium text-zinc-400 uppercase">The text's top latents (by max)</h3>
            <ol className="space-y-0.5 text-xs" data-testid="feature-probe-top">
              {shown.top_latents.map((l) => (
                <li key={l.latent} className="flex justify-between gap-2">
                  <Link href={latentHref(analysisId, l.latent)} className="min-w-0 truncate text-sky-300 hover:underline">
                    #{l.latent}
                    {l.label && <span className="ml-1 text-zinc-400">{l.label}</span>}
                  </Link>
                  <span className="font-mono text-zinc-300">{formatActivation(l.max_activation)}</span>
                </li>
              ))}
            </ol>
          </div>
        </div>
      )}
    </div>
  );
}

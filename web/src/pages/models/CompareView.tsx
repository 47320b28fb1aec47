import { useEffect, useState, type ReactNode } from "react";
import { ArrowLeft, ArrowLeftRight } from "lucide-react";
import { messageOf } from "../../api/client";
import { modelsApi } from "../../api/models";
import type { Model, ModelComparison } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { Field, inputClass } from "../../components/Field";
import { cn } from "../../lib/cn";
import { formatBytes, formatCount, formatInteger } from "../../lib/format";
import { Link, setQuery, useLocation } from "../../lib/router";
import { reportError } from "../../stores/toasts";

function show(v: unknown): string {
  if (v === undefined) return "(absent)";
  if (v === null) return "null";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function PairRow({ label, a, b, format, testId }: { label: string; a: number | null; b: number | null; format: (n: number | null) => string; testId?: string }) {
  const differs = a !== b;
  return (
    <tr className="border-b border-zinc-800/70" data-testid={testId} data-differs={differs}>
      <th scope="row" className="px-2 py-1 text-left font-medium text-zinc-400">
        {label}
      </th>
      <td className={cn("px-2 py-1 font-mono", differs && "text-amber-200")}>{format(a)}</td>
      <td className={cn("px-2 py-1 font-mono", differs && "text-amber-200")}>{format(b)}</td>
    </tr>
  );
}

function ModelSelect({ label, value, models, onChange, testId }: { label: string; value: string; models: Model[]; onChange: (id: string) => void; testId: string }) {
  return (
    <Field label={label} className="min-w-64 flex-1">
      {({ id }) => (
        <select id={id} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
          <option value="">Pick a model…</option>
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name} {m.family ? `· ${m.family}` : ""} {m.parameter_count ? `· ${formatCount(m.parameter_count)}` : ""}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function HookList({ title, hooks, testId }: { title: ReactNode; hooks: string[]; testId: string }) {
  return (
    <div>
      <h4 className="mb-1 text-xs font-semibold text-zinc-300">{title}</h4>
      {hooks.length === 0 ? (
        <p className="text-[11px] text-zinc-500">none</p>
      ) : (
        <ul className="flex max-h-40 flex-wrap gap-1 overflow-auto" data-testid={testId}>
          {hooks.map((h) => (
            <li key={h} className="rounded border border-zinc-800 bg-zinc-950 px-1.5 font-mono text-[11px] text-zinc-300">
              {h}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** /models/compare?a=&b= — two models side by side: sizes, layers, hook points and every differing config field. */
export function CompareView() {
  const { search } = useLocation();
  const a = search.get("a") ?? "";
  const b = search.get("b") ?? "";
  const [models, setModels] = useState<Model[]>([]);
  const [result, setResult] = useState<ModelComparison | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const ctrl = new AbortController();
    modelsApi
      .list({ limit: 200 }, ctrl.signal)
      .then((page) => setModels(page.items))
      .catch((e) => {
        if (!ctrl.signal.aborted) reportError(e, "Could not load models");
      });
    return () => ctrl.abort();
  }, []);

  useEffect(() => {
    setResult(null);
    setError(null);
    if (!a || !b) return;
    const ctrl = new AbortController();
    modelsApi
      .compare(a, b, ctrl.signal)
      .then(setResult)
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setError(messageOf(e));
      });
    return () => ctrl.abort();
  }, [a, b]);

  return (
    <div className="mx-auto max-w-7xl space-y-4 p-6" data-testid="compare-view">
      <div>
        <Link href="/models" className="inline-flex items-center gap-1 text-xs text-zinc-400 hover:text-zinc-200">
          <ArrowLeft className="size-3.5" aria-hidden /> Models
        </Link>
        <h1 className="mt-1 text-lg font-semibold text-zinc-50">Compare models</h1>
      </div>
      <Card>
        <div className="flex flex-wrap items-end gap-3">
          <ModelSelect label="Model A" value={a} models={models} onChange={(id) => setQuery({ a: id || null }, { replace: true })} testId="compare-a" />
          <Button aria-label="Swap A and B" onClick={() => setQuery({ a: b || null, b: a || null }, { replace: true })} disabled={!a && !b}>
            <ArrowLeftRight className="size-3.5" aria-hidden />
          </Button>
          <ModelSelect label="Model B" value={b} models={models} onChange={(id) => setQuery({ b: id || null }, { replace: true })} testId="compare-b" />
        </div>
      </Card>

      {error && (
        <p className="rounded border border-red-900 bg-red-950/40 px-3 py-2 text-sm text-red-200" role="alert" data-testid="compare-error">
          {error}
        </p>
      )}
      {!a || !b ? (
        <p className="text-xs text-zinc-500">Pick two models to see how they differ.</p>
      ) : !result ? (
        !error && <p className="text-xs text-zinc-500">Comparing…</p>
      ) : (
        <div className="grid gap-4 lg:grid-cols-2" data-testid="compare-result">
          <Card title="Sizes">
            <table className="w-full text-xs">
              <thead>
                <tr className="border-b border-zinc-800 text-[11px] text-zinc-500 uppercase">
                  <th scope="col" className="px-2 py-1 text-left font-medium" />
                  <th scope="col" className="px-2 py-1 text-left font-medium">
                    A · {result.a.name}
                  </th>
                  <th scope="col" className="px-2 py-1 text-left font-medium">
                    B · {result.b.name}
                  </th>
                </tr>
              </thead>
              <tbody>
                <tr className="border-b border-zinc-800/70">
                  <th scope="row" className="px-2 py-1 text-left font-medium text-zinc-400">
                    Family
                  </th>
                  <td className={cn("px-2 py-1 font-mono", result.a.family !== result.b.family && "text-amber-200")}>{result.a.family ?? "—"}</td>
                  <td className={cn("px-2 py-1 font-mono", result.a.family !== result.b.family && "text-amber-200")}>{result.b.family ?? "—"}</td>
                </tr>
                <PairRow label="Parameters" a={result.parameters.a} b={result.parameters.b} format={formatInteger} testId="compare-params" />
                <PairRow label="Layers" a={result.num_layers.a} b={result.num_layers.b} format={(n) => (n === null ? "—" : String(n))} testId="compare-layers" />
                <PairRow label="On disk" a={result.size_bytes.a} b={result.size_bytes.b} format={formatBytes} testId="compare-size" />
              </tbody>
            </table>
          </Card>
          <Card title="Hook points">
            <p className="mb-2 text-xs text-zinc-400">
              <strong className="font-mono text-zinc-200">{result.hook_points.common}</strong> in common
            </p>
            <div className="space-y-3">
              <HookList title={`Only in A (${result.hook_points.only_a.length})`} hooks={result.hook_points.only_a} testId="compare-hooks-only-a" />
              <HookList title={`Only in B (${result.hook_points.only_b.length})`} hooks={result.hook_points.only_b} testId="compare-hooks-only-b" />
            </div>
          </Card>
          <Card title={`Config fields that differ (${result.config_differences.length})`} className="lg:col-span-2">
            {result.config_differences.length === 0 ? (
              <p className="text-xs text-zinc-500">The configs are the same.</p>
            ) : (
              <div className="max-h-[28rem] overflow-auto">
                <table className="w-full text-xs" data-testid="compare-config">
                  <thead className="sticky top-0 bg-zinc-900">
                    <tr className="border-b border-zinc-800 text-[11px] text-zinc-500 uppercase">
                      <th scope="col" className="px-2 py-1 text-left font-medium">
                        Field
                      </th>
                      <th scope="col" className="px-2 py-1 text-left font-medium">
                        A
                      </th>
                      <th scope="col" className="px-2 py-1 text-left font-medium">
                        B
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.config_differences.map((d) => (
                      <tr key={d.key} className="border-b border-zinc-800/70 align-top">
                        <th scope="row" className="px-2 py-1 text-left font-mono font-medium text-zinc-300">
                          {d.key}
                        </th>
                        <td className="px-2 py-1 font-mono break-all text-zinc-200">{show(d.a)}</td>
                        <td className="px-2 py-1 font-mono break-all text-zinc-200">{show(d.b)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        </div>
      )}
    </div>
  );
}

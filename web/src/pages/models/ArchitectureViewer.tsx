import { useEffect, useState, type ReactNode } from "react";
import { ChevronDown, ChevronRight } from "lucide-react";
import { messageOf } from "../../api/client";
import { modelsApi } from "../../api/models";
import type { Architecture, ArchitectureLayer } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { formatCount, formatInteger, jsonPretty } from "../../lib/format";

function Stat({ label, value, testId }: { label: string; value: ReactNode; testId?: string }) {
  return (
    <div className="rounded border border-zinc-800 bg-zinc-950/60 px-2 py-1.5" data-testid={testId}>
      <div className="text-[10px] tracking-wide text-zinc-500 uppercase">{label}</div>
      <div className="font-mono text-sm text-zinc-100 tabular-nums">{value ?? "—"}</div>
    </div>
  );
}

function heads(arch: Pick<Architecture, "num_attention_heads" | "num_key_value_heads">): string | null {
  if (arch.num_attention_heads === null) return null;
  if (arch.num_key_value_heads && arch.num_key_value_heads !== arch.num_attention_heads) {
    return `${arch.num_attention_heads} (kv ${arch.num_key_value_heads})`;
  }
  return String(arch.num_attention_heads);
}

/** Where the parameters are: embedding, blocks, final norm, lm_head, as one stacked bar. */
function ParameterShare({ arch }: { arch: Architecture }) {
  const p = arch.parameters;
  const blocks = p.per_block.reduce((a, b) => a + b, 0);
  const parts = [
    { label: "embedding", value: p.embedding, color: "bg-violet-500" },
    { label: `${p.per_block.length} blocks`, value: blocks, color: "bg-sky-500" },
    { label: "final norm", value: p.final_norm, color: "bg-zinc-400" },
    { label: arch.tie_word_embeddings ? "lm_head (tied)" : "lm_head", value: p.lm_head, color: "bg-emerald-500" },
    ...(p.other > 0 ? [{ label: "other (outside the text model)", value: p.other, color: "bg-amber-500" }] : []),
  ];
  const total = Math.max(1, p.total);
  return (
    <div className="space-y-1" data-testid="arch-parameter-share">
      <div className="flex h-2 overflow-hidden rounded-full bg-zinc-800" aria-hidden>
        {parts.map((x) => (
          <div key={x.label} className={x.color} style={{ width: `${(x.value / total) * 100}%` }} />
        ))}
      </div>
      <ul className="flex flex-wrap gap-x-4 gap-y-0.5 text-[11px] text-zinc-400">
        {parts.map((x) => (
          <li key={x.label} className="flex items-center gap-1">
            <span className={`inline-block size-2 rounded-sm ${x.color}`} aria-hidden />
            {x.label} <span className="font-mono text-zinc-200">{formatCount(x.value)}</span>
            <span className="text-zinc-600">({Math.round((x.value / total) * 100)}%)</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "blocks.3.mlp_out" → "mlp_out" (the key of hook_point_meanings). */
function hookType(hookPoint: string): string {
  return hookPoint.split(".").slice(2).join(".") || hookPoint;
}

function LayerRow({
  layer,
  open,
  onToggle,
  meanings,
}: {
  layer: ArchitectureLayer;
  open: boolean;
  onToggle: () => void;
  meanings: Record<string, string>;
}) {
  const panelId = `arch-layer-${layer.index}-panel`;
  const a = layer.attention;
  const m = layer.mlp;
  return (
    <li className="border-b border-zinc-800 last:border-b-0" data-testid={`arch-layer-${layer.index}`}>
      <button
        type="button"
        className="flex w-full items-center gap-2 px-2 py-1.5 text-left text-xs hover:bg-zinc-800/50 focus-visible:bg-zinc-800/50"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={onToggle}
        data-testid={`arch-layer-${layer.index}-toggle`}
      >
        {open ? <ChevronDown className="size-3.5 text-zinc-500" aria-hidden /> : <ChevronRight className="size-3.5 text-zinc-500" aria-hidden />}
        <span className="w-20 font-mono text-zinc-100">blocks.{layer.index}</span>
        <span className="w-16 font-mono text-zinc-300 tabular-nums">{formatCount(layer.parameters)}</span>
        <span className="text-zinc-400">
          {a.type}
          {a.num_heads !== null && ` · ${a.num_heads}h${a.num_kv_heads && a.num_kv_heads !== a.num_heads ? `/${a.num_kv_heads}kv` : ""}`}
          {" · "}
          {m.type === "moe" ? `MoE ${m.num_experts ?? "?"}×${m.intermediate_size ?? "?"} (top ${m.experts_per_token ?? "?"})` : `MLP ${m.intermediate_size ?? "?"}`}
        </span>
        <span className="ml-auto text-[11px] text-zinc-500">{layer.hook_points.length} hook points</span>
      </button>
      {open && (
        <div id={panelId} className="grid gap-3 bg-zinc-950/50 px-8 py-2 text-xs md:grid-cols-3" data-testid={`arch-layer-${layer.index}-details`}>
          <section>
            <h4 className="mb-1 font-semibold text-zinc-300">Attention</h4>
            <dl className="grid grid-cols-[7rem_1fr] gap-y-0.5 font-mono text-[11px]">
              <dt className="text-zinc-500">type</dt>
              <dd>{a.type}</dd>
              <dt className="text-zinc-500">heads</dt>
              <dd>{a.num_heads ?? "—"}</dd>
              <dt className="text-zinc-500">kv heads</dt>
              <dd>{a.num_kv_heads ?? "—"}</dd>
              <dt className="text-zinc-500">head dim</dt>
              <dd>{a.head_dim ?? "—"}</dd>
              {a.sliding_window != null && (
                <>
                  <dt className="text-zinc-500">sliding window</dt>
                  <dd>{formatInteger(a.sliding_window)}</dd>
                </>
              )}
              <dt className="text-zinc-500">parameters</dt>
              <dd>{formatInteger(a.parameters)}</dd>
            </dl>
          </section>
          <section>
            <h4 className="mb-1 font-semibold text-zinc-300">{m.type === "moe" ? "Mixture of experts" : "MLP"}</h4>
            <dl className="grid grid-cols-[7rem_1fr] gap-y-0.5 font-mono text-[11px]">
              <dt className="text-zinc-500">type</dt>
              <dd>{m.type}</dd>
              <dt className="text-zinc-500">intermediate</dt>
              <dd>{m.intermediate_size ?? "—"}</dd>
              {m.type === "moe" && (
                <>
                  <dt className="text-zinc-500">experts</dt>
                  <dd>{m.num_experts ?? "—"}</dd>
                  <dt className="text-zinc-500">per token</dt>
                  <dd>{m.experts_per_token ?? "—"}</dd>
                </>
              )}
              <dt className="text-zinc-500">parameters</dt>
              <dd>{formatInteger(m.parameters)}</dd>
            </dl>
            <h4 className="mt-2 mb-1 font-semibold text-zinc-300">Norms</h4>
            <ul className="font-mono text-[11px] text-zinc-300">
              {layer.norms.length === 0 ? <li className="text-zinc-500">none</li> : layer.norms.map((n) => <li key={n}>{n}</li>)}
            </ul>
          </section>
          <section>
            <h4 className="mb-1 font-semibold text-zinc-300">Hook points</h4>
            <ul className="flex flex-wrap gap-1" data-testid={`arch-layer-${layer.index}-hooks`}>
              {layer.hook_points.map((h) => (
                <li key={h} className="rounded border border-sky-900 bg-sky-950/50 px-1.5 font-mono text-[11px] text-sky-200" title={meanings[hookType(h)]}>
                  {h}
                </li>
              ))}
            </ul>
            <p className="mt-1 text-[11px] text-zinc-500">
              {formatInteger(layer.parameters)} parameters in this block
            </p>
          </section>
        </div>
      )}
    </li>
  );
}

/** Summary numbers, parameter breakdown, the blocks (expandable), hook points and the raw config of a model. */
export function ArchitectureViewer({ modelId, refreshKey }: { modelId: string; refreshKey?: unknown }) {
  const [arch, setArch] = useState<Architecture | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Set<number>>(() => new Set([0]));

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    modelsApi
      .architecture(modelId, ctrl.signal)
      .then(setArch)
      .catch((e) => {
        if (ctrl.signal.aborted) return;
        setError(messageOf(e));
      });
    return () => ctrl.abort();
  }, [modelId, refreshKey]);

  const toggle = (i: number) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      return next;
    });

  if (error && !arch) {
    return (
      <Card title="Architecture" data-testid="architecture-viewer">
        <p className="text-sm text-red-300" role="alert" data-testid="architecture-error">
          {error}
        </p>
      </Card>
    );
  }
  if (!arch) {
    return (
      <Card title="Architecture" data-testid="architecture-viewer">
        <p className="text-xs text-zinc-500">Loading the architecture…</p>
      </Card>
    );
  }

  const allOpen = open.size === arch.layers.length;
  const meanings = arch.hook_point_meanings ?? {};
  return (
    <Card title="Architecture" data-testid="architecture-viewer" bodyClassName="space-y-4 p-3">
      <div className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-6" data-testid="arch-summary">
        <Stat label="Family" value={arch.family ?? arch.model_type} testId="arch-family" />
        <Stat label="Parameters" value={<span title={formatInteger(arch.parameters.total)}>{formatCount(arch.parameters.total)}</span>} testId="arch-params" />
        <Stat label="Layers" value={arch.num_layers} testId="arch-num-layers" />
        <Stat label="Hidden size" value={arch.hidden_size} testId="arch-hidden" />
        <Stat label="Heads" value={heads(arch)} />
        <Stat label="Head dim" value={arch.head_dim} />
        <Stat label="MLP size" value={arch.intermediate_size} />
        <Stat label="Vocabulary" value={arch.vocab_size === null ? null : formatInteger(arch.vocab_size)} />
        <Stat label="Context" value={arch.context_length === null ? null : formatInteger(arch.context_length)} />
        {arch.num_experts !== null && <Stat label="Experts" value={`${arch.num_experts} (top ${arch.num_experts_per_token ?? "?"})`} />}
        <Stat label="Tied embeddings" value={arch.tie_word_embeddings === null ? null : arch.tie_word_embeddings ? "yes" : "no"} />
        {arch.sliding_window != null && <Stat label="Sliding window" value={formatInteger(arch.sliding_window)} />}
        <Stat label="dtype" value={arch.torch_dtype} />
      </div>

      <ParameterShare arch={arch} />

      <section aria-labelledby="arch-layers-heading">
        <div className="mb-1 flex items-center gap-2">
          <h3 id="arch-layers-heading" className="text-xs font-semibold text-zinc-300">
            Blocks <span className="font-normal text-zinc-500">({arch.layers.length})</span>
          </h3>
          <span className="text-[11px] text-zinc-500">
            hook points: <span className="font-mono">blocks.{"{i}"}.resid_pre|attn_out|mlp_out|resid_post</span>, the same names in every family
          </span>
          <Button
            size="sm"
            variant="ghost"
            className="ml-auto"
            onClick={() => setOpen(allOpen ? new Set() : new Set(arch.layers.map((l) => l.index)))}
            data-testid="arch-toggle-all"
          >
            {allOpen ? "Collapse all" : "Expand all"}
          </Button>
        </div>
        <ol className="max-h-[32rem] overflow-auto rounded border border-zinc-800" data-testid="arch-layers">
          {arch.layers.map((layer) => (
            <LayerRow key={layer.index} layer={layer} open={open.has(layer.index)} onToggle={() => toggle(layer.index)} meanings={meanings} />
          ))}
        </ol>
      </section>

      {Object.keys(meanings).length > 0 && (
        <dl className="grid gap-x-3 gap-y-0.5 text-[11px] sm:grid-cols-[8rem_1fr]" data-testid="arch-hook-meanings">
          {Object.entries(meanings).map(([name, meaning]) => (
            <div key={name} className="contents">
              <dt className="font-mono text-sky-300">{name}</dt>
              <dd className="text-zinc-400">{meaning}</dd>
            </div>
          ))}
        </dl>
      )}

      <details className="rounded border border-zinc-800" data-testid="arch-hook-points">
        <summary className="cursor-pointer px-2 py-1 text-xs text-zinc-300 select-none">
          All hook points <span className="text-zinc-500">({arch.hook_points.length})</span>
        </summary>
        <ul className="flex max-h-48 flex-wrap gap-1 overflow-auto p-2">
          {arch.hook_points.map((h) => (
            <li key={h} className="rounded border border-zinc-800 bg-zinc-950 px-1.5 font-mono text-[11px] text-zinc-300">
              {h}
            </li>
          ))}
        </ul>
      </details>

      <details className="rounded border border-zinc-800" data-testid="arch-config">
        <summary className="cursor-pointer px-2 py-1 text-xs text-zinc-300 select-none">Raw config.json</summary>
        <pre className="max-h-96 overflow-auto p-2 font-mono text-[11px] text-zinc-300" data-testid="arch-config-json">
          {jsonPretty(arch.config)}
        </pre>
      </details>
    </Card>
  );
}

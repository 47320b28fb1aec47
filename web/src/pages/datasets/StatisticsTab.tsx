import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Dataset, TokenizationStatistics } from "../../api/datasets";
import { Card } from "../../components/Card";
import { AXIS, GRID, TOOLTIP } from "../../components/chartStyle";
import { inputClass } from "../../components/Field";
import { formatCount, formatInteger } from "../../lib/format";
import { Link, setQuery, useLocation } from "../../lib/router";
import { describeSettings, displayToken } from "./describe";


function StatCard({ label, value, sub, testId }: { label: string; value: ReactNode; sub?: ReactNode; testId: string }) {
  return (
    <div className="rounded-md border border-zinc-800 bg-zinc-900/60 px-3 py-2" data-testid={testId}>
      <div className="text-[10px] tracking-wide text-zinc-500 uppercase">{label}</div>
      <div className="font-mono text-lg text-zinc-50 tabular-nums">{value}</div>
      {sub && <div className="font-mono text-[11px] text-zinc-500">{sub}</div>}
    </div>
  );
}

/** Histogram bins as chart rows: "128–192" with its count (decimals only when bins are narrower than a token). */
export function histogramRows(stats: TokenizationStatistics): Array<{ range: string; count: number; start: number; end: number }> {
  const bins = stats.length.histogram;
  const narrow = bins.some((b) => b.end - b.start < 1);
  const fmt = (v: number) => (narrow ? String(Number(v.toFixed(2))) : formatInteger(Math.round(v)));
  return bins.map((b) => ({ range: `${fmt(b.start)}–${fmt(b.end)}`, count: b.count, start: b.start, end: b.end }));
}

export function topTokenRows(stats: TokenizationStatistics): Array<{ label: string; id: number; count: number; percent: number }> {
  return stats.top_tokens.map((t) => ({ label: `${displayToken(t.token)}`, id: t.id, count: t.count, percent: t.fraction * 100 }));
}

/** The charts and numbers of one ready tokenization. */
export function StatisticsView({ stats }: { stats: TokenizationStatistics }) {
  const hist = histogramRows(stats);
  const top = topTokenRows(stats);
  const topHeight = Math.max(160, top.length * 22 + 30);
  return (
    <div className="space-y-4" data-testid="statistics-view">
      <div className="grid grid-cols-2 gap-2 md:grid-cols-3 xl:grid-cols-6">
        <StatCard label="Sequences" value={formatInteger(stats.num_sequences)} testId="stat-sequences" />
        <StatCard label="Total tokens" value={formatInteger(stats.total_tokens)} sub={formatCount(stats.total_tokens)} testId="stat-tokens" />
        <StatCard
          label="Length min / max"
          value={`${formatInteger(stats.length.min)} / ${formatInteger(stats.length.max)}`}
          sub="tokens per sequence"
          testId="stat-min-max"
        />
        <StatCard
          label="Mean / median"
          value={`${stats.length.mean.toFixed(1)} / ${stats.length.median.toFixed(stats.length.median % 1 ? 1 : 0)}`}
          sub="tokens per sequence"
          testId="stat-mean-median"
        />
        <StatCard label="Unique tokens" value={formatInteger(stats.unique_tokens)} sub={`of ${formatInteger(stats.vocab_size)} in the vocabulary`} testId="stat-unique" />
        <StatCard label="Vocab coverage" value={`${(stats.vocab_coverage * 100).toFixed(1)}%`} sub="of the vocabulary appears" testId="stat-coverage" />
      </div>

      <div className="grid items-start gap-4 xl:grid-cols-2">
        <Card title="Sequence length distribution" data-testid="chart-length-histogram">
          <div className="h-64">
            <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 500, height: 256 }}>
              <BarChart data={hist} margin={{ top: 8, right: 8, bottom: 4, left: 8 }}>
                <CartesianGrid stroke={GRID} vertical={false} />
                <XAxis dataKey="range" tick={AXIS} stroke="#52525b" interval="preserveStartEnd" angle={-30} textAnchor="end" height={64}
                  label={{ value: "tokens per sequence", position: "insideBottom", offset: 0, fill: "#71717a", fontSize: 11 }} />
                <YAxis tick={AXIS} stroke="#52525b" allowDecimals={false} tickFormatter={(v: number) => formatCount(v)} width={48} />
                <Tooltip {...TOOLTIP} formatter={(v) => [formatInteger(Number(v)), "sequences"]} labelFormatter={(l) => `${l} tokens`} />
                <Bar dataKey="count" fill="#0ea5e9" radius={[2, 2, 0, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          {stats.length.min === stats.length.max && (
            <p className="mt-1 text-[11px] text-zinc-500">Every sequence has exactly {formatInteger(stats.length.max)} tokens (packed into full-length chunks).</p>
          )}
          <p className="mt-1 font-mono text-[11px] text-zinc-400" data-testid="stat-length-line">
            min {formatInteger(stats.length.min)} · mean {stats.length.mean.toFixed(1)} · median {stats.length.median} · max {formatInteger(stats.length.max)} tokens
          </p>
        </Card>

        <Card title={`Top ${top.length} tokens`} data-testid="chart-top-tokens">
          <div style={{ height: topHeight }}>
            <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 500, height: topHeight }}>
              <BarChart data={top} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 8 }}>
                <CartesianGrid stroke={GRID} horizontal={false} />
                <XAxis type="number" tick={AXIS} stroke="#52525b" tickFormatter={(v: number) => formatCount(v)} />
                <YAxis type="category" dataKey="label" tick={{ ...AXIS, fontFamily: "ui-monospace, monospace" }} stroke="#52525b" width={90} interval={0} />
                <Tooltip
                  {...TOOLTIP}
                  formatter={(v, _n, item) => [`${formatInteger(Number(v))} (${(item.payload as { percent: number }).percent.toFixed(2)}%)`, `id ${(item.payload as { id: number }).id}`]}
                />
                <Bar dataKey="count" fill="#10b981" radius={[0, 2, 2, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </Card>
      </div>
    </div>
  );
}

/** Statistics tab: pick a ready tokenization, see its lengths, vocabulary use and most frequent tokens. */
export function StatisticsTab({ dataset }: { dataset: Dataset }) {
  const { search } = useLocation();
  const ready = dataset.tokenizations.filter((t) => t.ready && t.statistics);
  const wanted = search.get("tokenization");
  const chosen = ready.find((t) => t.id === wanted) ?? ready[ready.length - 1];

  if (!chosen || !chosen.statistics) {
    return (
      <Card title="Statistics">
        <p className="text-xs text-zinc-500" data-testid="statistics-empty">
          Statistics are computed per tokenization.{" "}
          <Link href={`/datasets/${dataset.id}?tab=tokenization`} className="text-sky-300 hover:underline">
            Tokenize this dataset
          </Link>{" "}
          and they appear here once it is ready.
        </p>
      </Card>
    );
  }
  return (
    <div className="space-y-3" data-testid="statistics-tab" data-tokenization-id={chosen.id}>
      <div className="flex flex-wrap items-center gap-2 text-xs text-zinc-400">
        <label className="flex items-center gap-2">
          Tokenization
          <select
            className={`${inputClass} w-auto`}
            value={chosen.id}
            onChange={(e) => setQuery({ tokenization: e.target.value }, { replace: true })}
            data-testid="statistics-tokenization"
          >
            {ready.map((t) => (
              <option key={t.id} value={t.id}>
                {t.tokenizer_name} · {t.split} · {describeSettings(t.settings)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <StatisticsView stats={chosen.statistics} />
    </div>
  );
}

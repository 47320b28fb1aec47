import { useMemo, type ReactNode } from "react";
import { RefreshCw } from "lucide-react";
import { Button } from "../components/Button";
import { Card } from "../components/Card";
import { StatusDot } from "../components/StatusDot";
import { formatBytes, formatTimestamp } from "../lib/format";
import { Link } from "../lib/router";
import { SECTIONS } from "../sections";
import { useHealth } from "../stores/health";
import { useJobs } from "../stores/jobs";

function Row({ label, ok, children, testId }: { label: string; ok?: boolean | null; children: ReactNode; testId: string }) {
  return (
    <div className="flex items-start gap-3 border-b border-zinc-800/60 py-1.5 last:border-b-0" data-testid={testId}>
      <dt className="w-24 shrink-0 text-zinc-500">{label}</dt>
      <dd className="flex min-w-0 items-center gap-2 text-zinc-200">
        {ok !== undefined && <StatusDot state={ok === null ? "idle" : ok ? "ok" : "error"} label={ok === null ? "unknown" : ok ? "ok" : "not ok"} />}
        <span className="min-w-0 break-words">{children}</span>
      </dd>
    </div>
  );
}

function HealthSummary() {
  const health = useHealth((s) => s.health);
  const error = useHealth((s) => s.error);
  const loading = useHealth((s) => s.loading);
  const lastFetched = useHealth((s) => s.lastFetched);
  const refresh = useHealth((s) => s.refresh);
  return (
    <Card
      title="Server health"
      data-testid="overview-health"
      actions={
        <Button size="sm" variant="ghost" aria-label="Refresh health" onClick={() => void refresh().catch(() => {})} disabled={loading}>
          <RefreshCw className={loading ? "size-3 animate-spin" : "size-3"} aria-hidden />
        </Button>
      }
    >
      {error ? (
        <p className="text-sm text-red-300" role="alert">
          {error.message}
        </p>
      ) : !health ? (
        <p className="text-xs text-zinc-500">Checking…</p>
      ) : (
        <dl className="text-xs">
          <Row label="Status" ok={health.status === "ok"} testId="overview-health-status">
            {health.status} · v{health.version}
          </Row>
          <Row label="Database" ok={health.database.ok} testId="overview-health-database">
            {health.database.dialect}
            {health.database.detail && <span className="text-zinc-500"> — {health.database.detail}</span>}
          </Row>
          <Row label="Runner" ok={health.runner.ok} testId="overview-health-runner">
            {health.runner.mode}
            {health.runner.detail && <span className="text-zinc-500"> — {health.runner.detail}</span>}
          </Row>
          <Row label="Redis" ok={health.redis.configured ? health.redis.ok : undefined} testId="overview-health-redis">
            {health.redis.configured ? health.redis.detail || "configured" : "not configured (local mode)"}
          </Row>
          <Row label="Disk" testId="overview-health-disk">
            {formatBytes(health.disk.free_bytes)} free of {formatBytes(health.disk.total_bytes)}{" "}
            <span className="font-mono text-zinc-500">{health.disk.path}</span>
          </Row>
          <Row label="Device" testId="overview-health-device">
            {health.device.kind === "cuda" ? `GPU: ${health.device.name}` : `CPU${health.device.name ? ` (${health.device.name})` : ""}`}
            {health.device.memory_total_bytes ? ` · ${formatBytes(health.device.memory_total_bytes)}` : ""}
          </Row>
        </dl>
      )}
      {lastFetched && <p className="mt-2 text-[11px] text-zinc-600">Checked {formatTimestamp(new Date(lastFetched).toISOString())}</p>}
    </Card>
  );
}

export default function OverviewPage() {
  const active = useJobs((s) => s.active);
  const activeCount = useMemo(() => Object.keys(active).length, [active]);
  const others = SECTIONS.filter((s) => s.id !== "overview");
  return (
    <div className="mx-auto max-w-5xl space-y-4 p-6" data-testid="overview-page">
      <div>
        <h1 className="text-lg font-semibold text-zinc-50">miStudio</h1>
        <p className="mt-1 max-w-3xl text-sm text-zinc-400">
          A local-first studio for mechanistic interpretability of language models. Long-running work — downloading models
          and datasets, extracting activations, training sparse autoencoders — runs as background jobs on this machine (or on
          workers, in scale-out mode); you can follow and cancel them from the <strong className="text-zinc-300">Jobs</strong>{" "}
          drawer at the top right, and inspect them in full on the Jobs page. Everything you see is read from the server, so a
          reload is always safe.
        </p>
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="What you can do here" data-testid="overview-sections">
          <ul className="space-y-2 text-sm">
            {others.map((s) => {
              const Icon = s.icon;
              return (
                <li key={s.id} className="flex gap-2">
                  <Icon className="mt-0.5 size-4 shrink-0 text-sky-400" aria-hidden />
                  <div>
                    <Link href={s.path} className="font-medium text-zinc-100 hover:underline">
                      {s.label}
                    </Link>
                    <p className="text-xs text-zinc-400">{s.summary}</p>
                  </div>
                </li>
              );
            })}
          </ul>
          <p className="mt-3 text-xs text-zinc-500" data-testid="overview-active-jobs">
            {activeCount === 0 ? "No jobs running right now." : `${activeCount} job${activeCount === 1 ? "" : "s"} queued or running.`}
          </p>
        </Card>
        <HealthSummary />
      </div>
    </div>
  );
}

import type { ReactNode } from "react";
import { Cpu, Database, HardDrive, Radio, Server, Zap } from "lucide-react";
import type { Health } from "../api/types";
import { StatusDot, type DotState } from "../components/StatusDot";
import { formatBytes } from "../lib/format";
import { cn } from "../lib/cn";
import { useHealth } from "../stores/health";
import { useConnection } from "../stores/live";

/** Below this much free space the disk item turns amber. */
export const LOW_DISK_BYTES = 5 * 1024 ** 3;

function Item({
  testId,
  state,
  icon,
  label,
  detail,
  title,
}: {
  testId: string;
  state: DotState;
  icon: ReactNode;
  label: ReactNode;
  detail?: string | null;
  title?: string;
}) {
  const bad = state === "error";
  return (
    <div
      data-testid={testId}
      data-ok={state === "error" ? "false" : "true"}
      data-state={state}
      title={title ?? detail ?? undefined}
      className={cn("flex min-w-0 items-center gap-1.5 whitespace-nowrap", bad && "text-red-300")}
    >
      <StatusDot state={state} label={state === "error" ? "error" : state === "warn" ? "warning" : "ok"} />
      {icon}
      <span>{label}</span>
      {bad && detail && (
        <span className="max-w-[28rem] truncate text-red-400" data-testid={`${testId}-detail`}>
          — {detail}
        </span>
      )}
    </div>
  );
}

const ICON = "size-3 text-zinc-500";

export function deviceLabel(device: Health["device"]): string {
  if (device.kind === "cuda") return device.name || "GPU";
  return "CPU";
}

export function HealthItems({ health }: { health: Health }) {
  const { database, runner, redis, disk, device } = health;
  const diskState: DotState = disk.free_bytes < LOW_DISK_BYTES ? "warn" : "ok";
  return (
    <>
      <Item
        testId="health-database"
        state={database.ok ? "ok" : "error"}
        icon={<Database className={ICON} aria-hidden />}
        label={database.dialect}
        detail={database.detail}
        title={`Database (${database.dialect}): ${database.detail || (database.ok ? "ok" : "not ok")}`}
      />
      <Item
        testId="health-runner"
        state={runner.ok ? "ok" : "error"}
        icon={<Server className={ICON} aria-hidden />}
        label={`runner: ${runner.mode}`}
        detail={runner.detail}
        title={`Job runner (${runner.mode}): ${runner.detail || (runner.ok ? "ok" : "not ok")}`}
      />
      {redis.configured && (
        <Item
          testId="health-redis"
          state={redis.ok === false ? "error" : redis.ok === null ? "idle" : "ok"}
          icon={<Zap className={ICON} aria-hidden />}
          label="redis"
          detail={redis.detail}
          title={`Redis: ${redis.detail || (redis.ok ? "ok" : "unknown")}`}
        />
      )}
      <Item
        testId="health-disk"
        state={diskState}
        icon={<HardDrive className={ICON} aria-hidden />}
        label={`${formatBytes(disk.free_bytes)} free`}
        title={`${disk.path}: ${formatBytes(disk.free_bytes)} free of ${formatBytes(disk.total_bytes)}`}
      />
      <Item
        testId="health-device"
        state="ok"
        icon={<Cpu className={ICON} aria-hidden />}
        label={deviceLabel(device)}
        title={
          device.kind === "cuda"
            ? `${device.name}${device.memory_total_bytes ? `, ${formatBytes(device.memory_total_bytes)}` : ""}`
            : device.name || "CPU"
        }
      />
    </>
  );
}

export function StatusBar() {
  const health = useHealth((s) => s.health);
  const error = useHealth((s) => s.error);
  const conn = useConnection((s) => s.status);
  return (
    <footer
      data-testid="status-bar"
      aria-label="Server status"
      className="flex h-7 shrink-0 items-center gap-4 overflow-hidden border-t border-zinc-800 bg-zinc-900 px-3 text-[11px] text-zinc-400"
    >
      {error ? (
        <Item
          testId="health-error"
          state="error"
          icon={<Server className={ICON} aria-hidden />}
          label="server unreachable"
          detail={error.message}
        />
      ) : health ? (
        <HealthItems health={health} />
      ) : (
        <span data-testid="health-loading">checking server…</span>
      )}
      <div className="ml-auto flex items-center gap-4">
        <Item
          testId="status-live"
          state={conn === "open" ? "ok" : conn === "closed" ? "warn" : "idle"}
          icon={<Radio className={ICON} aria-hidden />}
          label={conn === "open" ? "live" : conn === "closed" ? "reconnecting" : "connecting"}
          title="Live updates (WebSocket)"
        />
        {health && <span data-testid="health-version">v{health.version}</span>}
      </div>
    </footer>
  );
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** 0..1 → "42%" (clamped, floored so 99.9% never reads 100%). */
export function formatPercent(fraction: number | null | undefined): string {
  return `${percentOf(fraction)}%`;
}

export function percentOf(fraction: number | null | undefined): number {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return 0;
  return Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
}

/** Milliseconds → "4s", "3m 05s", "2h 03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, "0")}h`;
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  // The backend may emit naive UTC timestamps; treat a missing offset as UTC.
  const hasZone = /[zZ]|[+-]\d\d:?\d\d$/.test(iso);
  const t = Date.parse(hasZone ? iso : `${iso}Z`);
  return Number.isNaN(t) ? null : t;
}

/** Local time, "2025-01-31 14:05:09" (or "01-31 14:05:09" when `short`). */
export function formatTimestamp(iso: string | null | undefined, short = false): string {
  const t = parseTime(iso);
  if (t === null) return "—";
  const d = new Date(t);
  const pad = (x: number) => String(x).padStart(2, "0");
  const date = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return short ? `${date} ${time}` : `${d.getFullYear()}-${date} ${time}`;
}

/** Time since a job started (or was created, while queued) until it finished or now. */
export function elapsedMs(
  job: { created_at: string; started_at?: string | null; finished_at?: string | null },
  now: number,
): number {
  const start = parseTime(job.started_at) ?? parseTime(job.created_at) ?? now;
  const end = parseTime(job.finished_at) ?? now;
  return Math.max(0, end - start);
}

export function jsonPretty(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? "null";
  } catch {
    return String(v);
  }
}

/** A count in the units researchers use for parameters: "135M", "1.2B", "12.5K", "980". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units: Array<[number, string]> = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [size, suffix] of units) {
    if (Math.abs(n) >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))}${suffix}`;
    }
  }
  return String(Math.round(n));
}

/** An exact count with thousands separators: "1,234,567". */
export function formatInteger(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes per second → "1.5 MB/s". */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (!bytesPerSecond || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds remaining → "3m 05s" ("—" when unknown). */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  return formatDuration(Math.ceil(seconds) * 1000);
}

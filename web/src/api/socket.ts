/**
 * WebSocket client for /api/v1/ws: subscribes to channels, reconnects with exponential backoff
 * (with jitter), and tells listeners about every (re)connect so stores can resync from REST.
 */
import type { WsMessage } from "./types";

export type SocketStatus = "idle" | "connecting" | "open" | "closed";

export interface SocketOptions {
  url?: string;
  /** Backoff: min(maxDelay, baseDelay * 2^attempt) ± 20%. */
  baseDelay?: number;
  maxDelay?: number;
  WebSocketImpl?: typeof WebSocket;
}

type MessageListener = (msg: WsMessage) => void;
type StatusListener = (status: SocketStatus, info: { reconnect: boolean }) => void;

export function defaultSocketUrl(): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}/api/v1/ws`;
}

export function backoffDelay(attempt: number, base = 500, max = 15_000, rand: () => number = Math.random): number {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(d * (0.8 + 0.4 * rand()));
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private channels = new Set<string>();
  private messageListeners = new Set<MessageListener>();
  private statusListeners = new Set<StatusListener>();
  private attempt = 0;
  private everOpened = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  status: SocketStatus = "idle";

  constructor(private readonly opts: SocketOptions = {}) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      ws.close();
    }
    this.setStatus("idle", false);
  }

  /** Reconnect now (e.g. the browser came back online), skipping the backoff wait. */
  reconnectNow(): void {
    if (this.stopped || this.status === "open" || this.status === "connecting") return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  subscribe(channel: string): () => void {
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      this.send({ type: "subscribe", channels: [channel] });
    }
    return () => {
      if (this.channels.delete(channel)) this.send({ type: "unsubscribe", channels: [channel] });
    };
  }

  onMessage(fn: MessageListener): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onStatus(fn: StatusListener): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private send(payload: unknown): void {
    const open = (this.opts.WebSocketImpl ?? WebSocket).OPEN;
    if (this.ws && this.ws.readyState === open) this.ws.send(JSON.stringify(payload));
  }

  private setStatus(status: SocketStatus, reconnect: boolean): void {
    this.status = status;
    for (const fn of this.statusListeners) fn(status, { reconnect });
  }

  private connect(): void {
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    this.setStatus("connecting", this.everOpened);
    let ws: WebSocket;
    try {
      ws = new Impl(this.opts.url ?? defaultSocketUrl());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      if (this.channels.size) this.send({ type: "subscribe", channels: [...this.channels] });
      this.setStatus("open", reconnect);
    };
    ws.onmessage = (ev: MessageEvent) => {
      let msg: unknown;
      try {
        msg = JSON.parse(typeof ev.data === "string" ? ev.data : "");
      } catch {
        return;
      }
      if (!msg || typeof msg !== "object" || typeof (msg as WsMessage).channel !== "string") return;
      for (const fn of this.messageListeners) fn(msg as WsMessage);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus("closed", this.everOpened);
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.opts.baseDelay, this.opts.maxDelay);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, LiveSocket } from "./socket";

class FakeWs {
  static OPEN = 1;
  static instances: FakeWs[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  constructor(public url: string) {
    FakeWs.instances.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
}

beforeEach(() => {
  FakeWs.instances = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("LiveSocket", () => {
  it("subscribes on open, delivers messages, and reconnects with backoff", () => {
    const s = new LiveSocket({ url: "ws://x/api/v1/ws", WebSocketImpl: FakeWs as unknown as typeof WebSocket, baseDelay: 100 });
    const statuses: Array<[string, boolean]> = [];
    const messages: unknown[] = [];
    s.onStatus((st, info) => statuses.push([st, info.reconnect]));
    s.onMessage((m) => messages.push(m));
    s.subscribe("jobs");
    s.start();
    const ws1 = FakeWs.instances[0]!;
    ws1.open();
    expect(ws1.sent).toEqual([{ type: "subscribe", channels: ["jobs"] }]);
    ws1.onmessage?.({ data: JSON.stringify({ channel: "jobs", event: "job.updated", data: { id: "a" } }) });
    ws1.onmessage?.({ data: "not json" });
    expect(messages).toEqual([{ channel: "jobs", event: "job.updated", data: { id: "a" } }]);

    ws1.drop();
    expect(FakeWs.instances).toHaveLength(1);
    vi.advanceTimersByTime(200);
    expect(FakeWs.instances).toHaveLength(2);
    FakeWs.instances[1]!.open();
    expect(FakeWs.instances[1]!.sent).toEqual([{ type: "subscribe", channels: ["jobs"] }]);
    expect(statuses).toEqual([
      ["connecting", false],
      ["open", false],
      ["closed", true],
      ["connecting", true],
      ["open", true],
    ]);
    s.stop();
  });

  it("backs off exponentially up to a cap", () => {
    const mid = () => 0.5;
    expect(backoffDelay(0, 500, 15_000, mid)).toBe(500);
    expect(backoffDelay(3, 500, 15_000, mid)).toBe(4000);
    expect(backoffDelay(30, 500, 15_000, mid)).toBe(15_000);
  });
});

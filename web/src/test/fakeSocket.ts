import type { WsMessage } from "../api/types";

/** A stand-in for LiveSocket in store tests: records subscribed channels, `emit` delivers a message. */
export class FakeSocket {
  listeners = new Set<(m: WsMessage) => void>();
  channels: string[] = [];
  onMessage(fn: (m: WsMessage) => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  subscribe(channel: string) {
    this.channels.push(channel);
    return () => {
      this.channels = this.channels.filter((c) => c !== channel);
    };
  }
  emit(msg: WsMessage) {
    for (const fn of this.listeners) fn(msg);
  }
}

/**
 * Wires the WebSocket to the stores: resync jobs from REST on every (re)connect, apply
 * `job.updated` events live, and poll REST as a fallback while the socket is down.
 */
import { create } from "zustand";
import { LiveSocket, type SocketStatus } from "../api/socket";
import { eventOn } from "../api/events";
import { useJobs } from "./jobs";
import { reportError } from "./toasts";

export const FALLBACK_POLL_MS = 5_000;

interface ConnectionState {
  status: SocketStatus;
  /** Increments on every (re)connect and server-requested resync; pages key their REST refetches on it. */
  epoch: number;
}

export const useConnection = create<ConnectionState>()(() => ({ status: "idle", epoch: 0 }));

export const socket = new LiveSocket();

let started = false;
let resyncErrorShown = false;

function resyncJobs(): void {
  useJobs
    .getState()
    .resync()
    .then(() => {
      resyncErrorShown = false;
      // REST answers again: don't make the socket sit out the rest of its backoff.
      if (socket.status === "closed") socket.reconnectNow();
    })
    .catch((e) => {
      // One toast per outage; the status bar shows the rest.
      if (!resyncErrorShown) reportError(e, "Could not load jobs");
      resyncErrorShown = true;
    });
}

/** Start the live layer once; returns a stop function. */
export function startLive(): () => void {
  if (started) return () => {};
  started = true;
  let poll: ReturnType<typeof setInterval> | null = null;
  const stopPoll = () => {
    if (poll) clearInterval(poll);
    poll = null;
  };
  const startPoll = () => {
    if (!poll) poll = setInterval(resyncJobs, FALLBACK_POLL_MS);
  };

  const offMsg = socket.onMessage((msg) => {
    const job = eventOn("jobs", ["job.updated"], msg);
    if (job) {
      useJobs.getState().applyUpdate(job.data);
    } else if (eventOn("system", ["resync"], msg)) {
      // The server dropped events for this (slow) client: reload everything from REST.
      useConnection.setState((s) => ({ epoch: s.epoch + 1 }));
      resyncJobs();
    }
  });
  const offStatus = socket.onStatus((status) => {
    useConnection.setState((s) => ({ status, epoch: status === "open" ? s.epoch + 1 : s.epoch }));
    if (status === "open") {
      stopPoll();
      resyncJobs();
    } else if (status === "closed") {
      startPoll();
    }
  });
  const unsubscribe = socket.subscribe("jobs");
  const online = () => socket.reconnectNow();
  window.addEventListener("online", online);

  // The UI renders from REST alone; the socket only keeps it live.
  resyncJobs();
  socket.start();

  return () => {
    started = false;
    stopPoll();
    offMsg();
    offStatus();
    unsubscribe();
    window.removeEventListener("online", online);
    socket.stop();
  };
}

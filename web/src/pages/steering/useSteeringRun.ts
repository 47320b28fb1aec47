/**
 * One steering request at a time (a comparison or a sweep): subscribe to `steering/{request_id}` first, POST, fold
 * the streamed tokens into `streams`, and keep the answer. Stop asks the server to end it at its next token; the
 * answer then still comes, with the texts so far measured.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { messageOf } from "../../api/client";
import { newRequestId, parseSteeringEvent, steeringApi, steeringChannel } from "../../api/steering";
import { socket } from "../../stores/live";
import { applyToken, type Streams } from "./streams";

export type RunState = "idle" | "running" | "stopping" | "done" | "error";

export interface SteeringRun<R> {
  state: RunState;
  streams: Streams;
  result: R | null;
  error: string | null;
  start: (send: (requestId: string) => Promise<R>) => Promise<void>;
  stop: () => void;
  /** Show a stored result (from the history) as if it had just run. */
  show: (result: R | null) => void;
}

export function useSteeringRun<R>(): SteeringRun<R> {
  const [state, setState] = useState<RunState>("idle");
  const [streams, setStreams] = useState<Streams>({});
  const [result, setResult] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = useRef<{ requestId: string; unsubscribe: () => void } | null>(null);

  useEffect(() => {
    const off = socket.onMessage((msg) => {
      const running = current.current;
      const event = running && parseSteeringEvent(msg, running.requestId);
      if (event?.event === "token") setStreams((s) => applyToken(s, event.data));
    });
    return () => {
      off();
      current.current?.unsubscribe();
      current.current = null;
    };
  }, []);

  const start = useCallback(async (send: (requestId: string) => Promise<R>) => {
    const requestId = newRequestId();
    current.current?.unsubscribe();
    const unsubscribe = socket.subscribe(steeringChannel(requestId));
    current.current = { requestId, unsubscribe };
    setStreams({});
    setResult(null);
    setError(null);
    setState("running");
    try {
      // The POST answers when every run is done: its texts are complete even if a token event was missed.
      const answer = await send(requestId);
      if (current.current?.requestId !== requestId) return;
      setResult(answer);
      setState("done");
    } catch (e) {
      if (current.current?.requestId !== requestId) return;
      setError(messageOf(e));
      setState("error");
    } finally {
      if (current.current?.requestId === requestId) {
        unsubscribe();
        current.current = null;
      }
    }
  }, []);

  const stop = useCallback(() => {
    const running = current.current;
    if (!running) return;
    setState("stopping");
    steeringApi.stop(running.requestId).catch((e) => setError(messageOf(e)));
  }, []);

  const show = useCallback((stored: R | null) => {
    current.current?.unsubscribe();
    current.current = null;
    setStreams({});
    setError(null);
    setResult(stored);
    setState(stored ? "done" : "idle");
  }, []);

  return { state, streams, result, error, start, stop, show };
}

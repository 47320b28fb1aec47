import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeMember, makePoints, makeTraining } from "../pages/training/fixtures";
import { FakeSocket } from "../test/fakeSocket";
import { makeJob } from "../test/fixtures";

const training = vi.hoisted(() => ({ list: vi.fn(), get: vi.fn(), metrics: vi.fn(), pause: vi.fn(), resume: vi.fn() }));
vi.mock("../api/training", async (importOriginal) => ({ ...(await importOriginal<object>()), trainingApi: training }));

import type { MetricPoint } from "../api/training";
import { REFETCH_MS } from "./liveResource";
import { mergePoints, startTrainingsLive, useTrainings } from "./training";
import { useToasts } from "./toasts";

const point = (step: number, member = 0, fvu = 1 / step): MetricPoint => ({ member, step, values: { fvu } });
const metrics = (id: string, step: number, members: Record<string, number>[]) => ({
  channel: `trainings/${id}/metrics`,
  event: "metrics",
  data: { training_id: id, step, total_steps: 40, members },
});

beforeEach(() => {
  useTrainings.getState().reset();
  useToasts.getState().clear();
  for (const fn of Object.values(training)) fn.mockReset();
});
afterEach(() => vi.useRealTimers());

describe("mergePoints", () => {
  it("appends later steps, replaces a step it has, and keeps steps then SAEs in order", () => {
    const a = [point(10, 0), point(10, 1)];
    expect(mergePoints(a, [point(20, 1), point(20, 0)]).map((p) => [p.step, p.member])).toEqual([[10, 0], [10, 1], [20, 0], [20, 1]]);
    const replaced = mergePoints(a, [point(10, 1, 0.5), point(5, 0)]);
    expect(replaced.map((p) => [p.step, p.member])).toEqual([[5, 0], [10, 0], [10, 1]]);
    expect(replaced[2]!.values.fvu).toBe(0.5);
    expect(mergePoints(a, [])).toBe(a);
  });
});

describe("the training store", () => {
  it("follows a run's metrics: REST first, then only the steps after the last one it has", async () => {
    training.metrics.mockResolvedValueOnce(makePoints(20));
    await useTrainings.getState().fetchMetrics("t1");
    expect(training.metrics).toHaveBeenLastCalledWith("t1", -1, undefined);
    expect(useTrainings.getState().series.t1!.map((p) => p.step)).toEqual([10, 20]);
    training.metrics.mockResolvedValueOnce(makePoints(40).slice(2));
    await useTrainings.getState().fetchMetrics("t1");
    expect(training.metrics).toHaveBeenLastCalledWith("t1", 20, undefined);
    expect(useTrainings.getState().series.t1!.map((p) => p.step)).toEqual([10, 20, 30, 40]);
  });

  it("keeps a live step that lands while the REST request is in flight", async () => {
    let answer: (points: MetricPoint[]) => void = () => undefined;
    training.metrics.mockReturnValueOnce(new Promise<MetricPoint[]>((r) => (answer = r)));
    const loading = useTrainings.getState().fetchMetrics("t1");
    useTrainings.getState().onMessage(metrics("t1", 30, [{ fvu: 0.3 }]));
    answer(makePoints(20));
    await loading;
    expect(useTrainings.getState().series.t1!.map((p) => p.step)).toEqual([10, 20, 30]);
  });

  it("a live step moves a running row's latest figures, not a finished one's; runs nobody follows keep no series", () => {
    useTrainings.setState({ trainings: { t1: makeTraining({ id: "t1" }), t2: makeTraining({ id: "t2", status: "completed", active: false, ready: true, steps_done: 40 }) } });
    useTrainings.getState().onMessage(metrics("t1", 30, [{ fvu: 0.25, l0: 8 }]));
    useTrainings.getState().onMessage(metrics("t2", 50, [{ fvu: 0.9 }]));
    const s = useTrainings.getState();
    expect(s.trainings.t1).toMatchObject({ steps_done: 30, latest_metrics: [{ fvu: 0.25, l0: 8 }] });
    expect(s.trainings.t2!.steps_done).toBe(40);
    expect(s.series).toEqual({});
    // A message of another run's channel is ignored.
    useTrainings.getState().onMessage({ ...metrics("t1", 40, [{ fvu: 0.1 }]), channel: "trainings/t2/metrics" });
    expect(useTrainings.getState().trainings.t1!.steps_done).toBe(30);
  });

  it("keeps the list newest first, as the server orders it", async () => {
    training.list.mockResolvedValue({ items: [makeTraining({ id: "t2" }), makeTraining({ id: "t1" })], pagination: { page: 1, limit: 50, total: 2 } });
    await useTrainings.getState().fetchList();
    expect(useTrainings.getState().listIds).toEqual(["t2", "t1"]);
  });

  it("pause keeps the row the server answers; a refusal is a toast with the server's text", async () => {
    const { ApiError } = await import("../api/client");
    training.pause.mockResolvedValueOnce(makeTraining({ id: "t1", message: "pausing" }));
    await useTrainings.getState().pause("t1");
    expect(useTrainings.getState().trainings.t1!.message).toBe("pausing");
    training.resume.mockRejectedValueOnce(new ApiError(409, "conflict", "training 't1' is completed; only paused … can be resumed"));
    expect(await useTrainings.getState().resume("t1")).toBeNull();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "error", title: "Could not resume the training" });
  });
});

describe("startTrainingsLive", () => {
  it("follows the metrics channel of active runs only, and refetches a run on its job's update and its status event", async () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    useTrainings.setState({
      trainings: {
        t1: makeTraining({ id: "t1", members: [makeMember(), makeMember()] }),
        t2: makeTraining({ id: "t2", status: "completed", active: false, ready: true }),
      },
    });
    const stop = startTrainingsLive(socket);
    expect(socket.channels).toEqual(["trainings/t1/metrics"]);

    training.get.mockResolvedValue(makeTraining({ id: "t1", status: "completed", active: false, ready: true }));
    socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ id: "job-t1", writes: [{ type: "training", id: "t1" }] }) });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(training.get).toHaveBeenCalledWith("t1", undefined);
    expect(socket.channels).toEqual([]); // it finished: its channel is left

    socket.emit({ channel: "trainings/t2", event: "status", data: { training_id: "t2", status: "running", message: null } });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(training.get).toHaveBeenCalledWith("t2", undefined);

    // A job of a run this tab does not know reloads the list.
    training.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 50, total: 0 } });
    socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ id: "job-x", writes: [{ type: "training", id: "t9" }] }) });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(training.list).toHaveBeenCalled();
    stop();
  });
});

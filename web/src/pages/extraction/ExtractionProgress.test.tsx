import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "../../test/fixtures";
import { FakeSocket } from "../../test/fakeSocket";
import { makeExtraction } from "./fixtures";

const extraction = vi.hoisted(() => ({ get: vi.fn(), cancel: vi.fn(), resume: vi.fn() }));
vi.mock("../../api/extraction", async (importOriginal) => ({ ...(await importOriginal<object>()), extractionApi: extraction }));

import { REFETCH_MS } from "../../stores/liveResource";
import { startExtractionsLive, useExtractions } from "../../stores/extraction";
import { ExtractionActions, ExtractionProgress } from "./ExtractionProgress";

function Live({ id }: { id: string }) {
  const e = useExtractions((s) => s.extractions[id]);
  return e ? <ExtractionProgress extraction={e} /> : <p>gone</p>;
}

let stop: () => void = () => {};
beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  useExtractions.getState().reset();
  extraction.get.mockReset();
});
afterEach(() => {
  stop();
  vi.useRealTimers();
});

describe("ExtractionProgress", () => {
  it("draws the figures of the latest socket event, and reloads the row when the status changes", async () => {
    const socket = new FakeSocket();
    const running = makeExtraction({ status: "running", samples_done: 0, samples_per_second: null, tokens_per_second: null, seconds: null, size_bytes: 0 });
    act(() => useExtractions.setState({ extractions: { e1: running }, byModel: { m1: ["e1"] } }));
    stop = startExtractionsLive(socket);
    expect(socket.channels).toEqual(["extractions/e1"]);
    render(<Live id="e1" />);
    expect(screen.getByTestId("extraction-progress-message")).toHaveTextContent("loading the model");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuetext", "waiting");

    const data = { extraction_id: "e1", samples_done: 16, samples_total: 64, samples_per_second: 8, tokens_per_second: 512, eta_seconds: 6, batch_size: 8 };
    act(() => socket.emit({ channel: "extractions/e1", event: "progress", data }));
    expect(screen.getByTestId("extraction-progress-samples")).toHaveTextContent("16 / 64 samples");
    expect(screen.getByTestId("extraction-progress-sps")).toHaveTextContent("8 samples/s");
    expect(screen.getByTestId("extraction-progress-tps")).toHaveTextContent("512 tokens/s");
    expect(screen.getByTestId("extraction-progress-eta")).toHaveTextContent("ETA 6s");
    expect(screen.getByTestId("extraction-progress-batch")).toHaveTextContent("batch 8");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");

    // An event of another extraction, or a malformed one, changes nothing.
    act(() => socket.emit({ channel: "extractions/e2", event: "progress", data: { ...data, samples_done: 60 } }));
    act(() => socket.emit({ channel: "extractions/e1", event: "progress", data: { samples_done: "lots" } }));
    expect(screen.getByTestId("extraction-progress-samples")).toHaveTextContent("16 / 64 samples");

    extraction.get.mockResolvedValue(makeExtraction());
    act(() => socket.emit({ channel: "extractions/e1", event: "status", data: { extraction_id: "e1", status: "completed", message: null } }));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    });
    expect(extraction.get).toHaveBeenCalledWith("e1", undefined);
    expect(useExtractions.getState().extractions.e1!.status).toBe("completed");
    expect(useExtractions.getState().progress.e1).toBeUndefined();
    expect(socket.channels).toEqual([]);
  });

  it("after a reload, shows the row's own figures until the first event", () => {
    render(<ExtractionProgress extraction={makeExtraction({ status: "running", samples_done: 32, samples_per_second: 4, tokens_per_second: 256 })} />);
    expect(screen.getByTestId("extraction-progress-samples")).toHaveTextContent("32 / 64 samples");
    expect(screen.getByTestId("extraction-progress-eta")).toHaveTextContent("ETA 8s");
    expect(screen.getByTestId("extraction-progress-batch")).toHaveTextContent("batch 16");
  });

  it("refetches an extraction when its job changes, and lists a new one started elsewhere", async () => {
    const socket = new FakeSocket();
    act(() => useExtractions.setState({ extractions: { e1: makeExtraction({ status: "queued", samples_done: 0 }) }, byModel: { m1: ["e1"] } }));
    stop = startExtractionsLive(socket);
    extraction.get.mockResolvedValue(makeExtraction({ status: "running", samples_done: 0 }));
    const job = makeJob({ id: "job-e1", writes: [{ type: "extraction", id: "e1" }] });
    act(() => socket.emit({ channel: "jobs", event: "job.updated", data: job }));
    act(() => socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ writes: [{ type: "tokenization", id: "t1" }] }) }));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    });
    expect(extraction.get).toHaveBeenCalledTimes(1);
    expect(useExtractions.getState().extractions.e1!.status).toBe("running");
  });

  it("offers Cancel while it runs (asking first) and Resume once it stopped resumably", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    extraction.cancel.mockResolvedValue(makeExtraction({ status: "cancelled", resumable: true, samples_done: 16 }));
    const { rerender } = render(<ExtractionActions extraction={makeExtraction({ status: "running" })} />);
    await user.click(screen.getByTestId("extraction-cancel-e1"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("batches done so far are kept");
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(extraction.cancel).toHaveBeenCalledWith("e1");

    extraction.resume.mockResolvedValue({ ...makeExtraction({ status: "queued", samples_done: 16 }), job_id: "job-2" });
    rerender(<ExtractionActions extraction={makeExtraction({ status: "cancelled", resumable: true })} />);
    await user.click(screen.getByTestId("extraction-resume-e1"));
    expect(extraction.resume).toHaveBeenCalledWith("e1");
    rerender(<ExtractionActions extraction={makeExtraction({ status: "completed" })} />);
    expect(screen.queryByTestId("extraction-resume-e1")).not.toBeInTheDocument();
  });
});

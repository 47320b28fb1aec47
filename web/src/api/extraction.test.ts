import { describe, expect, it } from "vitest";
import { extractionIdOfChannel, extractionIdOfJob, histogramBins, parseExtractionEvent } from "./extraction";

describe("extraction API helpers", () => {
  it("reads progress and status events of the channel's own extraction, and nothing else", () => {
    const figures = { samples_done: 8, samples_total: 64, samples_per_second: 4, tokens_per_second: 256, eta_seconds: null, batch_size: 8 };
    const msg = (event: string, data: unknown, channel = "extractions/e1") => ({ channel, event, data });
    const progress = { extraction_id: "e1", ...figures };
    expect(parseExtractionEvent(msg("progress", progress))).toEqual({ kind: "progress", ...progress });
    const status = { extraction_id: "e1", status: "completed", message: null };
    expect(parseExtractionEvent(msg("status", status))).toEqual({ kind: "status", ...status });
    expect(parseExtractionEvent(msg("other", progress))).toBeNull();
    expect(parseExtractionEvent(msg("progress", progress, "extractions/e2"))).toBeNull();
    expect(parseExtractionEvent(msg("progress", progress, "models/e1/progress"))).toBeNull();
    expect(parseExtractionEvent(msg("progress", null))).toBeNull();
  });

  it("finds the extraction of a channel and of a job", () => {
    expect(extractionIdOfChannel("extractions/e1")).toBe("e1");
    expect(extractionIdOfChannel("datasets/d1/progress")).toBeNull();
    expect(extractionIdOfJob({ writes: [{ type: "extraction", id: "e1" }] })).toBe("e1");
    expect(extractionIdOfJob({ writes: [{ type: "tokenization", id: "e1" }] })).toBeNull();
  });

  it("turns edges and counts into bins, or none when they do not match", () => {
    expect(histogramBins({ edges: [0, 1, 3], counts: [5, 7] })).toEqual([
      { start: 0, end: 1, count: 5 },
      { start: 1, end: 3, count: 7 },
    ]);
    expect(histogramBins({ edges: [0, 1], counts: [5, 7] })).toEqual([]);
    expect(histogramBins({ edges: null, counts: [] })).toEqual([]);
    expect(histogramBins(undefined)).toEqual([]);
  });
});

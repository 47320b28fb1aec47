import { describe, expect, it } from "vitest";
import { eventOn, matchChannel, tagged } from "./events";

describe("live events typed from the schema", () => {
  it("matches a channel to its pattern, one path segment per id", () => {
    expect(matchChannel("models/{model_id}/progress", "models/m1/progress")).toEqual({ model_id: "m1" });
    expect(matchChannel("models/{model_id}/progress", "models/m1/x/progress")).toBeNull();
    expect(matchChannel("models/{model_id}/progress", "models//progress")).toBeNull();
    expect(matchChannel("jobs", "jobs")).toEqual({});
    expect(matchChannel("jobs", "jobs/j1")).toBeNull();
    expect(matchChannel("jobs/{job_id}", "jobs/j1")).toEqual({ job_id: "j1" });
  });

  it("takes only the events the caller handles, with object data", () => {
    const data = { extraction_id: "e1", status: "running", message: null };
    const msg = { channel: "extractions/e1", event: "status", data };
    expect(eventOn("extractions/{extraction_id}", ["status"], msg)).toEqual({ ids: { extraction_id: "e1" }, event: "status", data });
    expect(eventOn("extractions/{extraction_id}", ["progress"], msg)).toBeNull();
    expect(eventOn("extractions/{extraction_id}", ["status"], { ...msg, data: "running" })).toBeNull();
    expect(eventOn("extractions/{extraction_id}", ["status"], { ...msg, data: [data] })).toBeNull();
    expect(eventOn("models/{model_id}/progress", ["progress"], { ...msg, event: "progress" })).toBeNull();
  });

  it("tags the data with its event name", () => {
    const event = eventOn("system", ["subscribed", "error"], { channel: "system", event: "error", data: { message: "no" } });
    expect(event && tagged(event)).toEqual({ kind: "error", message: "no" });
  });
});

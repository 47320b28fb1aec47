import { describe, expect, it, vi } from "vitest";
import { ApiError, buildUrl, createClient, errorFromBody } from "./client";
import { makeEndpoints } from "./endpoints";
import { jsonResponse, makeJob } from "../test/fixtures";

function clientWith(...responses: Array<Response | Error>) {
  const fetch = vi.fn<typeof globalThis.fetch>();
  for (const r of responses) {
    if (r instanceof Error) fetch.mockRejectedValueOnce(r);
    else fetch.mockResolvedValueOnce(r);
  }
  return { fetch, client: createClient({ fetch }), ep: makeEndpoints(createClient({ fetch })) };
}

describe("api client", () => {
  it("unwraps an item envelope", async () => {
    const job = makeJob();
    const { fetch, ep } = clientWith(jsonResponse({ data: job }));
    await expect(ep.getJob("job-1")).resolves.toEqual(job);
    expect(fetch).toHaveBeenCalledWith("/api/v1/jobs/job-1", expect.objectContaining({ method: "GET" }));
  });

  it("unwraps a list envelope with pagination and repeats array query params", async () => {
    const jobs = [makeJob({ id: "a" }), makeJob({ id: "b", status: "queued" })];
    const { fetch, ep } = clientWith(jsonResponse({ data: jobs, pagination: { page: 2, limit: 10, total: 12 } }));
    const page = await ep.listJobs({ status: ["running", "queued"], page: 2, limit: 10 });
    expect(page.items.map((j) => j.id)).toEqual(["a", "b"]);
    expect(page.pagination).toEqual({ page: 2, limit: 10, total: 12 });
    expect(fetch.mock.calls[0]![0]).toBe("/api/v1/jobs?status=running&status=queued&page=2&limit=10");
  });

  it("unwraps a POST (cancel) answer", async () => {
    const job = makeJob({ cancel_requested: true });
    const { fetch, ep } = clientWith(jsonResponse({ data: job }, 202));
    await expect(ep.cancelJob("job/1")).resolves.toEqual(job);
    expect(fetch).toHaveBeenCalledWith("/api/v1/jobs/job%2F1/cancel", expect.objectContaining({ method: "POST" }));
  });

  it("throws an ApiError carrying the error envelope", async () => {
    const { ep } = clientWith(
      jsonResponse({ error: { code: "conflict", message: "job already finished", details: { status: "completed" } } }, 409),
    );
    const err = await ep.cancelJob("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 409,
      code: "conflict",
      message: "job already finished",
      details: { status: "completed" },
    });
  });

  it("maps 404 error envelopes", async () => {
    const { ep } = clientWith(jsonResponse({ error: { code: "not_found", message: "no job nope", details: null } }, 404));
    await expect(ep.getJob("nope")).rejects.toMatchObject({ status: 404, code: "not_found", message: "no job nope" });
  });

  it("turns network failures into ApiError status 0", async () => {
    const { ep } = clientWith(new TypeError("Failed to fetch"));
    await expect(ep.health()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("handles non-envelope error bodies", () => {
    expect(errorFromBody(500, "<html>Bad gateway</html>", "Bad Gateway")).toMatchObject({ status: 500, message: "<html>Bad gateway</html>" });
    expect(errorFromBody(422, { detail: [{ msg: "field required", loc: ["query", "x"] }] })).toMatchObject({
      code: "validation_error",
      message: "field required",
    });
    expect(errorFromBody(404, { detail: "Not Found" })).toMatchObject({ code: "http_404", message: "Not Found" });
    expect(errorFromBody(502, null, "Bad Gateway")).toMatchObject({ message: "Bad Gateway" });
  });

  it("rejects a success body that is not an envelope", async () => {
    const { ep } = clientWith(jsonResponse({ status: "ok" }));
    await expect(ep.health()).rejects.toMatchObject({ code: "bad_envelope" });
  });

  it("builds urls", () => {
    expect(buildUrl("/a/{id}/b", { id: "x y" }, { q: undefined, n: 1, s: [] })).toBe("/a/x%20y/b?n=1");
    expect(() => buildUrl("/a/{id}", {}, null)).toThrow(/missing path parameter/);
  });
});

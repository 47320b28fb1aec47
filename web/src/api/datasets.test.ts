import { describe, expect, it } from "vitest";
import { makeDataset } from "../pages/datasets/fixtures";
import { ApiError } from "./client";
import { uploadDataset } from "./datasets";

/** A scripted XMLHttpRequest: records what was sent; the test drives progress and the answer. */
class FakeXhr {
  static last: FakeXhr | null = null;
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  aborted = false;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
  answer(status: number, body: unknown, statusText = "") {
    this.status = status;
    this.statusText = statusText;
    this.responseText = typeof body === "string" ? body : JSON.stringify(body);
    this.onload?.();
  }
}

const Impl = FakeXhr as unknown as typeof XMLHttpRequest;

describe("uploadDataset", () => {
  it("posts every file and the form fields as multipart, reports bytes sent, and unwraps the 202", async () => {
    const files = [new File(["one\ntwo\n"], "lines.txt"), new File(['{"text":"x"}\n'], "rows.jsonl")];
    const seen: Array<[number, number | null]> = [];
    const promise = uploadDataset(files, { txt_mode: "document", format: null, text_column: "body", name: "mine" }, {
      XMLHttpRequestImpl: Impl,
      onProgress: (p) => seen.push([p.loaded, p.total]),
    });
    const xhr = FakeXhr.last!;
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe("/api/v1/datasets/upload");
    expect(xhr.body!.getAll("files").map((f) => (f as File).name)).toEqual(["lines.txt", "rows.jsonl"]);
    expect(xhr.body!.get("txt_mode")).toBe("document");
    expect(xhr.body!.get("text_column")).toBe("body");
    expect(xhr.body!.get("name")).toBe("mine");
    expect(xhr.body!.has("format")).toBe(false);
    xhr.progress(10, 40);
    xhr.progress(40, 40);
    xhr.answer(202, { data: { ...makeDataset({ id: "up", status: "queued" }), job_id: "j1" } });
    await expect(promise).resolves.toMatchObject({ id: "up", job_id: "j1" });
    expect(seen).toEqual([
      [10, 40],
      [40, 40],
    ]);
  });

  it("rejects with the server's message on 413 and 400", async () => {
    const p413 = uploadDataset([new File(["x"], "big.txt")], { txt_mode: "line" }, { XMLHttpRequestImpl: Impl });
    FakeXhr.last!.answer(413, {
      error: { code: "payload_too_large", message: "request body is larger than the 2048 byte limit (MISTUDIO_UPLOAD_MAX_BYTES)", details: null },
    });
    const e = await p413.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 413, code: "payload_too_large", message: expect.stringContaining("MISTUDIO_UPLOAD_MAX_BYTES") });

    const p400 = uploadDataset([new File(["x"], "a.doc")], { txt_mode: "line" }, { XMLHttpRequestImpl: Impl });
    FakeXhr.last!.answer(400, { error: { code: "invalid_input", message: "a.doc: unsupported file type", details: null } });
    await expect(p400).rejects.toMatchObject({ status: 400, message: "a.doc: unsupported file type" });
  });

  it("turns a dropped connection into a network error, and an abort into an AbortError", async () => {
    const dropped = uploadDataset([new File(["x"], "a.txt")], { txt_mode: "line" }, { XMLHttpRequestImpl: Impl });
    FakeXhr.last!.onerror?.();
    await expect(dropped).rejects.toMatchObject({ status: 0, code: "network_error" });

    const ctrl = new AbortController();
    const aborted = uploadDataset([new File(["x"], "a.txt")], { txt_mode: "line" }, { XMLHttpRequestImpl: Impl, signal: ctrl.signal });
    ctrl.abort();
    expect(FakeXhr.last!.aborted).toBe(true);
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
  });
});

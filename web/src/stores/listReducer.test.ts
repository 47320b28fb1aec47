import { describe, expect, it } from "vitest";
import { idOfProgressChannel, jobFraction, listWith, listWithout, progressChannelOf, withoutKey } from "./listReducer";

const page = { listIds: ["a", "b"], pagination: { page: 1, limit: 24, total: 2 } };

describe("list reducer helpers", () => {
  it("puts a new item on top only when asked, counting it once", () => {
    expect(listWith(page, "c")).toEqual(page);
    expect(listWith(page, "c", true)).toEqual({ listIds: ["c", "a", "b"], pagination: { page: 1, limit: 24, total: 3 } });
    expect(listWith(page, "a", true)).toEqual(page);
  });

  it("takes a gone item off the page and the total (never below zero)", () => {
    expect(listWithout(page, "a")).toEqual({ listIds: ["b"], pagination: { page: 1, limit: 24, total: 1 } });
    expect(listWithout(page, "z")).toEqual(page);
    expect(listWithout({ listIds: ["a"], pagination: { page: 1, limit: 24, total: 0 } }, "a").pagination?.total).toBe(0);
  });

  it("drops a key without copying a record that lacks it", () => {
    const r = { a: 1 };
    expect(withoutKey(r, "b")).toBe(r);
    expect(withoutKey(r, "a")).toEqual({});
  });

  it("reads the item of a progress channel", () => {
    expect(idOfProgressChannel("things", progressChannelOf("things", "t1"))).toBe("t1");
    expect(idOfProgressChannel("things", "things//progress")).toBeNull();
    expect(idOfProgressChannel("things", "things/t1/progress/x")).toBeNull();
    expect(idOfProgressChannel("things", "other/t1/progress")).toBeNull();
  });

  it("falls back to the job's own progress when it is a number", () => {
    expect(jobFraction(0.5)).toBe(0.5);
    expect(jobFraction(null)).toBeNull();
    expect(jobFraction(Number.NaN)).toBeNull();
  });
});

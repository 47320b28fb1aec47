import { describe, expect, it } from "vitest";
import { browserErrors, effectiveOrder, readBrowserState, toFeatureQuery } from "./browserQuery";

const stateOf = (qs: string) => readBrowserState(new URLSearchParams(qs));

describe("the feature browser's URL state", () => {
  it("defaults to every latent by index, page 1", () => {
    const state = stateOf("");
    expect(toFeatureQuery(state)).toEqual({ sort: "index", page: 1, limit: 50 });
    expect(effectiveOrder(state)).toBe("asc");
    expect(effectiveOrder(stateOf("sort=frequency"))).toBe("desc");
  });

  it("turns the URL's filters into the list route's query", () => {
    const query = toFeatureQuery(stateOf("sort=max_activation&order=asc&live=dense&labelled=no&fav=1&min_freq=0.01&max_freq=0.5&page=3"));
    expect(query).toEqual({
      sort: "max_activation", order: "asc", dense: true, labelled: false, favourite: true,
      min_frequency: 0.01, max_frequency: 0.5, page: 3, limit: 50,
    });
    expect(toFeatureQuery(stateOf("live=dead")).dead).toBe(true);
    expect(toFeatureQuery(stateOf("live=alive")).dead).toBe(false);
  });

  it("searches the label, a token or one index as the mode says", () => {
    expect(toFeatureQuery(stateOf("q=king")).search).toBe("king");
    expect(toFeatureQuery(stateOf("by=token&q=%20king")).token).toBe("king");
    const byIndex = toFeatureQuery(stateOf("by=index&q=12"));
    expect(byIndex.latent).toBe(12);
    expect(byIndex.search).toBeUndefined();
  });

  it("ignores values it does not know rather than sending them", () => {
    const state = stateOf("sort=loudness&order=up&live=sleepy&page=-4");
    expect(toFeatureQuery(state)).toEqual({ sort: "index", page: 1, limit: 50 });
  });

  it("names the field and the fix for bad typed values", () => {
    expect(browserErrors(stateOf("min_freq=2")).minFrequency).toMatch(/Min frequency: a fraction between 0 and 1/);
    expect(browserErrors(stateOf("max_freq=abc")).maxFrequency).toMatch(/Max frequency/);
    expect(browserErrors(stateOf("min_freq=0.5&max_freq=0.1")).maxFrequency).toBe("Max frequency: at least the min frequency");
    expect(browserErrors(stateOf("by=index&q=twelve")).text).toMatch(/Index: a latent's number/);
    expect(browserErrors(stateOf("by=label&q=twelve"))).toEqual({});
  });
});

import { describe, expect, it } from "vitest";
import { hookPointsOf } from "../../api/training";
import { makeMember, makeTraining } from "./fixtures";
import { memberLabel } from "./metrics";

const on = (hook_point: string, k: number) => {
  const m = makeMember("topk", { k });
  return { ...m, config: { ...m.config, hook_point } };
};

describe("memberLabel", () => {
  it("leads with the hook point when the run's SAEs read different ones", () => {
    const t = makeTraining({ hook_point: "blocks.0.resid_post", members: [on("blocks.0.resid_post", 8), on("blocks.1.resid_post", 8)] });
    expect(hookPointsOf(t)).toEqual(["blocks.0.resid_post", "blocks.1.resid_post"]);
    expect(memberLabel(t, 1)).toBe("blocks.1.resid_post topk k=8 512 latents lr 0.0004");
  });

  it("leaves it out when they all read the same one (a k sweep), or the rows do not say (older runs)", () => {
    const sweep = makeTraining({ members: [on("blocks.1.resid_post", 8), on("blocks.1.resid_post", 16)] });
    expect(memberLabel(sweep, 1)).toBe("topk k=16 512 latents lr 0.0004");
    const old = makeTraining({ hook_point: "blocks.3.mlp_out", members: [makeMember()] });
    expect(hookPointsOf(old)).toEqual(["blocks.3.mlp_out"]);
    expect(memberLabel(old, 0)).toBe("topk k=32 512 latents");
  });
});

import { render, screen } from "@testing-library/react";
import { Boxes } from "lucide-react";
import { describe, expect, it } from "vitest";
import { navigate } from "../lib/router";
import { findSection, SECTIONS, type Section } from "../sections";
import { Nav } from "./Nav";

describe("Nav", () => {
  it("lists exactly the registered sections", () => {
    render(<Nav />);
    const links = screen.getAllByRole("link");
    expect(links.map((a) => a.textContent)).toEqual(SECTIONS.map((s) => s.label));
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["/", "/models", "/datasets", "/training", "/features", "/steering", "/jobs"]);
    expect(screen.queryByText("Extraction")).toBeNull();
  });

  it("renders whatever the registry holds, and marks the current one", () => {
    const extraction: Section = { id: "extraction", label: "Extraction", path: "/extraction", icon: Boxes, summary: "", component: () => null };
    navigate("/extraction/abc");
    render(<Nav sections={[...SECTIONS, extraction]} />);
    expect(screen.getByTestId("nav-extraction")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("nav-overview")).not.toHaveAttribute("aria-current");
    expect(screen.getAllByRole("link")).toHaveLength(SECTIONS.length + 1);
  });

  it("routes paths to sections", () => {
    expect(findSection("/")?.id).toBe("overview");
    expect(findSection("/jobs")?.id).toBe("jobs");
    expect(findSection("/jobs/x")?.id).toBe("jobs");
    expect(findSection("/jobsx")).toBeUndefined();
    expect(findSection("/models/abc")?.id).toBe("models");
    expect(findSection("/datasets/abc")?.id).toBe("datasets");
    expect(findSection("/training/compare")?.id).toBe("training");
    expect(findSection("/nope")).toBeUndefined();
  });
});

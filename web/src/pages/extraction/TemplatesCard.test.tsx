import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { initialDraft } from "./draft";
import { makeTemplate } from "./fixtures";

const templates = vi.hoisted(() => ({ list: vi.fn(), create: vi.fn(), setFavorite: vi.fn(), remove: vi.fn(), importFile: vi.fn() }));
vi.mock("../../api/templates", async (importOriginal) => ({ ...(await importOriginal<object>()), templatesApi: templates }));

import { ApiError } from "../../api/client";
import { parseTemplatesFile } from "../../api/templates";
import { useTemplates } from "../../stores/templates";
import { useToasts } from "../../stores/toasts";
import { TemplatesCard } from "./TemplatesCard";

const older = makeTemplate({ id: "a", name: "older", updated_at: "2025-01-01T09:00:00Z" });
const newer = makeTemplate({ id: "b", name: "newer", updated_at: "2025-01-02T09:00:00Z" });
const draft = { ...initialDraft(30), datasetId: "d1", tokenizationId: "t1", layers: [3, 6] };

function names() {
  return within(screen.getByTestId("templates-list"))
    .getAllByRole("listitem")
    .map((li) => li.getAttribute("data-testid"));
}

beforeEach(() => {
  useTemplates.getState().reset();
  useToasts.getState().clear();
  for (const fn of Object.values(templates)) fn.mockReset();
  templates.list.mockResolvedValue({ items: [older, newer], pagination: { page: 1, limit: 200, total: 2 } });
});

describe("TemplatesCard", () => {
  it("lists favourites first, stars at once, and puts the star back when the server refuses", async () => {
    const user = userEvent.setup();
    render(<TemplatesCard draft={draft} canSave onApply={() => {}} />);
    expect(await screen.findByText("Templates (2)")).toBeInTheDocument();
    expect(names()).toEqual(["template-b", "template-a"]);

    let answer: (t: unknown) => void = () => {};
    templates.setFavorite.mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    await user.click(screen.getByTestId("template-star-a"));
    expect(names()).toEqual(["template-a", "template-b"]); // before the server answers
    expect(screen.getByTestId("template-a")).toHaveAttribute("data-favorite", "true");
    await act(async () => answer({ ...older, is_favorite: true }));
    expect(templates.setFavorite).toHaveBeenCalledWith("a", true);

    templates.setFavorite.mockRejectedValueOnce(new ApiError(404, "not_found", "extraction template 'b' not found"));
    await user.click(screen.getByTestId("template-star-b"));
    expect(screen.getByTestId("template-b")).toHaveAttribute("data-favorite", "false");
    expect(useToasts.getState().toasts.at(-1)?.message).toContain("not found");
  });

  it("saves the form's settings (the server names it) and shows a taken name inline", async () => {
    const user = userEvent.setup();
    templates.create.mockResolvedValueOnce(makeTemplate({ id: "c", name: "resid_post_layers3-6_1000samples_1430", layers: [3, 6] }));
    render(<TemplatesCard draft={draft} canSave onApply={() => {}} />);
    await screen.findByText("Templates (2)");
    await user.click(screen.getByTestId("template-save"));
    expect(templates.create).toHaveBeenCalledWith(expect.objectContaining({ name: null, layers: [3, 6], hook_points: ["resid_post"], max_samples: 1000 }));
    expect(await screen.findByTestId("template-saved")).toHaveTextContent("resid_post_layers3-6_1000samples_1430");
    expect(screen.getByText("Templates (3)")).toBeInTheDocument();

    templates.create.mockRejectedValueOnce(new ApiError(409, "conflict", "an extraction template named 'newer' already exists"));
    await user.type(screen.getByTestId("template-save-name"), "newer");
    await user.click(screen.getByTestId("template-save"));
    expect(await screen.findByTestId("template-save-error")).toHaveTextContent("already exists (HTTP 409)");
  });

  it("deletes only after asking", async () => {
    const user = userEvent.setup();
    templates.remove.mockResolvedValue({ id: "a" });
    render(<TemplatesCard draft={draft} canSave onApply={() => {}} />);
    await screen.findByText("Templates (2)");
    await user.click(screen.getByTestId("template-delete-a"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Delete template 'older'? This cannot be undone.");
    expect(templates.remove).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(templates.remove).toHaveBeenCalledWith("a");
    expect(names()).toEqual(["template-b"]);
  });

  it("imports a chosen file and says what was imported, renamed and skipped", async () => {
    const user = userEvent.setup();
    const file = { version: "1.0", extraction_templates: [{ name: "newer", layers: [1], hook_points: ["resid_post"] }], training_templates: [{}] };
    templates.importFile.mockResolvedValue({
      imported: [makeTemplate({ id: "d", name: "newer_2" })],
      renamed: [{ original: "newer", imported_as: "newer_2" }],
      skipped_sections: [{ section: "training_templates", items: 1, reason: "this version of miStudio has no training templates" }],
    });
    render(<TemplatesCard draft={draft} canSave onApply={() => {}} />);
    await screen.findByText("Templates (2)");
    await user.upload(screen.getByTestId("templates-import-file"), new File([JSON.stringify(file)], "templates.json", { type: "application/json" }));
    expect(templates.importFile).toHaveBeenCalledWith(file);
    const dialog = await screen.findByTestId("templates-import-dialog");
    expect(within(dialog).getByTestId("templates-import-count")).toHaveTextContent("Imported 1 template.");
    expect(within(dialog).getByTestId("templates-import-renamed")).toHaveTextContent("newer → newer_2");
    expect(within(dialog).getByTestId("templates-import-skipped")).toHaveTextContent("training_templates (1 entry): this version of miStudio has no training templates");
    expect(screen.getByText("Templates (3)")).toBeInTheDocument();
    expect(screen.getByTestId("templates-export")).toHaveAttribute("href", "/api/v1/templates/export");
  });

  it("refuses a file that is not a templates file before sending it", async () => {
    const user = userEvent.setup();
    render(<TemplatesCard draft={draft} canSave onApply={() => {}} />);
    await screen.findByText("Templates (2)");
    await user.upload(screen.getByTestId("templates-import-file"), new File(["not json"], "notes.json", { type: "application/json" }));
    expect(await screen.findByTestId("templates-import-error")).toHaveTextContent("not JSON");
    expect(templates.importFile).not.toHaveBeenCalled();
    expect(() => parseTemplatesFile("[1, 2]")).toThrow("one JSON object");
  });
});

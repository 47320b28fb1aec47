/** The REST calls and types of extraction templates (types derived from the generated OpenAPI schema). */
import { api, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";

export type ExtractionTemplate = ItemOf<"/api/v1/extraction-templates/{template_id}">;
export type TemplatePage = PageOf<"/api/v1/extraction-templates">;
export type TemplateCreate = BodyOf<"/api/v1/extraction-templates", "post">;
export type TemplatePatch = BodyOf<"/api/v1/extraction-templates/{template_id}", "patch">;
export type TemplatesFile = BodyOf<"/api/v1/templates/import", "post">;
export type TemplatesImportResult = ItemOf<"/api/v1/templates/import", "post">;

/** Where the export downloads from (the server names the file in Content-Disposition). */
export const TEMPLATES_EXPORT_URL = "/api/v1/templates/export";

/** Favourites first, then the most recently changed: the order the server lists them in. */
export function sortTemplates(templates: readonly ExtractionTemplate[]): ExtractionTemplate[] {
  return [...templates].sort(
    (a, b) => Number(b.is_favorite) - Number(a.is_favorite) || b.updated_at.localeCompare(a.updated_at) || a.id.localeCompare(b.id),
  );
}

/**
 * Read a chosen export file: its JSON, checked to be an object (the server validates the rest and says what is
 * wrong). Throws an Error with a message a user can act on.
 */
export function parseTemplatesFile(text: string): TemplatesFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("This file is not JSON: choose a file exported from miStudio's templates.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("This file is not a miStudio templates file: it should hold one JSON object.");
  }
  return parsed as TemplatesFile;
}

export function makeTemplatesApi(client: ApiClient) {
  const path = (id: string) => ({ template_id: id });
  return {
    list: (signal?: AbortSignal): Promise<TemplatePage> => client.list("/api/v1/extraction-templates", { query: { limit: 200 }, signal }),
    create: (body: TemplateCreate): Promise<ExtractionTemplate> => client.post("/api/v1/extraction-templates", { body }),
    update: (id: string, body: TemplatePatch): Promise<ExtractionTemplate> =>
      client.patch("/api/v1/extraction-templates/{template_id}", { path: path(id), body }),
    remove: (id: string): Promise<{ id: string }> => client.del("/api/v1/extraction-templates/{template_id}", { path: path(id) }),
    setFavorite: (id: string, isFavorite: boolean): Promise<ExtractionTemplate> =>
      client.put("/api/v1/extraction-templates/{template_id}/favorite", { path: path(id), body: { is_favorite: isFavorite } }),
    importFile: (file: TemplatesFile): Promise<TemplatesImportResult> => client.post("/api/v1/templates/import", { body: file }),
  };
}

export type TemplatesApi = ReturnType<typeof makeTemplatesApi>;
export const templatesApi = makeTemplatesApi(api);

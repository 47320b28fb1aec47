/** The extraction templates: the list (favourites first), save, favourite, delete, import. */
import { create } from "zustand";
import {
  sortTemplates,
  templatesApi,
  type ExtractionTemplate,
  type TemplateCreate,
  type TemplatesFile,
  type TemplatesImportResult,
} from "../api/templates";
import { reportError, useToasts } from "./toasts";

interface TemplatesState {
  templates: ExtractionTemplate[];
  loaded: boolean;
  /** Ids with a favourite toggle or delete in flight. */
  pending: Record<string, true>;
  fetch: (signal?: AbortSignal) => Promise<void>;
  /** Save the settings as a template; throws the API error (409: the name is taken) for the form to show. */
  save: (body: TemplateCreate) => Promise<ExtractionTemplate>;
  /** Star or unstar at once; put back (with a toast) if the server refuses. */
  toggleFavorite: (id: string) => Promise<void>;
  remove: (id: string) => Promise<boolean>;
  /** Import an exported file; throws the API error (nothing is imported then). */
  importFile: (file: TemplatesFile) => Promise<TemplatesImportResult>;
  reset: () => void;
}

export const useTemplates = create<TemplatesState>()((set, get) => {
  const put = (t: ExtractionTemplate) => set({ templates: sortTemplates([...get().templates.filter((x) => x.id !== t.id), t]) });
  const busy = (id: string, on: boolean) => {
    const pending = { ...get().pending };
    if (on) pending[id] = true;
    else delete pending[id];
    set({ pending });
  };
  return {
    templates: [],
    loaded: false,
    pending: {},

    fetch: async (signal) => {
      try {
        const page = await templatesApi.list(signal);
        if (!signal?.aborted) set({ templates: sortTemplates(page.items), loaded: true });
      } catch (e) {
        if (!signal?.aborted) reportError(e, "Could not load the extraction templates");
      }
    },

    save: async (body) => {
      const t = await templatesApi.create(body);
      put(t);
      return t;
    },

    toggleFavorite: async (id) => {
      const before = get().templates.find((t) => t.id === id);
      if (!before || get().pending[id]) return;
      put({ ...before, is_favorite: !before.is_favorite });
      busy(id, true);
      try {
        put(await templatesApi.setFavorite(id, !before.is_favorite));
      } catch (e) {
        put(before);
        reportError(e, "Could not change the favourite");
      } finally {
        busy(id, false);
      }
    },

    remove: async (id) => {
      const name = get().templates.find((t) => t.id === id)?.name ?? id;
      busy(id, true);
      try {
        await templatesApi.remove(id);
        set({ templates: get().templates.filter((t) => t.id !== id) });
        useToasts.getState().push({ kind: "success", title: `Template '${name}' deleted` });
        return true;
      } catch (e) {
        reportError(e, "Could not delete the template");
        return false;
      } finally {
        busy(id, false);
      }
    },

    importFile: async (file) => {
      const result = await templatesApi.importFile(file);
      set({ templates: sortTemplates([...get().templates, ...result.imported]) });
      return result;
    },

    reset: () => set({ templates: [], loaded: false, pending: {} }),
  };
});

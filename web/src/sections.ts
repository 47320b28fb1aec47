/**
 * The section registry: the navigation, the routes and the Overview's list all come from here.
 * A new section (Models, Datasets, Extraction, …) is one more entry in SECTIONS.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from "react";
import { Activity, Boxes, Database, LayoutDashboard, ListChecks, SlidersHorizontal, Sparkles, type LucideIcon } from "lucide-react";
import { matchesPath } from "./lib/router";

export interface Section {
  id: string;
  label: string;
  /** Root path; the section also owns every path below it. */
  path: string;
  icon: LucideIcon;
  /** One line for the Overview page. */
  summary: string;
  component: ComponentType | LazyExoticComponent<ComponentType>;
}

export const SECTIONS: readonly Section[] = [
  {
    id: "overview",
    label: "Overview",
    path: "/",
    icon: LayoutDashboard,
    summary: "What this studio can do, and the health of the server it talks to.",
    component: lazy(() => import("./pages/OverviewPage")),
  },
  {
    id: "models",
    label: "Models",
    path: "/models",
    icon: Boxes,
    summary: "Download causal LMs from the Hub or import them from disk, load them in a format that fits, and see inside them.",
    component: lazy(() => import("./pages/models/ModelsPage")),
  },
  {
    id: "datasets",
    label: "Datasets",
    path: "/datasets",
    icon: Database,
    summary: "Get text in (Hub, upload, server path, or the Shakespeare example), tokenize it with a model's tokenizer, browse samples and statistics.",
    component: lazy(() => import("./pages/datasets/DatasetsPage")),
  },
  {
    id: "training",
    label: "Training",
    path: "/training",
    icon: Activity,
    summary: "Train sparse autoencoders and transcoders on an extraction (one or a sweep), watch their loss, FVU and L0 live, compare runs.",
    component: lazy(() => import("./pages/training/TrainingPage")),
  },
  {
    id: "features",
    label: "Features",
    path: "/features",
    icon: Sparkles,
    summary: "Analyse an SAE's latents over text, then browse, search and label them: top examples, logit lens, neighbours, ablation.",
    component: lazy(() => import("./pages/features/FeaturesPage")),
  },
  {
    id: "steering",
    label: "Steering",
    path: "/steering",
    icon: SlidersHorizontal,
    summary: "Steer a model with SAE features or contrastive directions: baseline and steered side by side, token by token, measured and swept over strengths.",
    component: lazy(() => import("./pages/steering/SteeringPage")),
  },
  {
    id: "jobs",
    label: "Jobs",
    path: "/jobs",
    icon: ListChecks,
    summary: "Every background job — downloads, extractions, trainings — with live progress, results and errors.",
    component: lazy(() => import("./pages/JobsPage")),
  },
];

/** The section that owns `pathname` (longest matching root wins), if any. */
export function findSection(pathname: string, sections: readonly Section[] = SECTIONS): Section | undefined {
  return [...sections]
    .filter((s) => matchesPath(s.path, pathname))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

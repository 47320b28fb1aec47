import { Suspense, useCallback, useRef, useState } from "react";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { Toaster } from "../components/Toast";
import { useLocation } from "../lib/router";
import { findSection, SECTIONS } from "../sections";
import NotFoundPage from "../pages/NotFoundPage";
import { Header } from "./Header";
import { JobsDrawer } from "./JobsDrawer";
import { Nav } from "./Nav";
import { StatusBar } from "./StatusBar";

export function Shell() {
  const { pathname } = useLocation();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const toggleRef = useRef<HTMLButtonElement>(null);
  const section = findSection(pathname, SECTIONS);
  const Page = section?.component ?? NotFoundPage;

  const closeDrawer = useCallback(() => {
    setDrawerOpen(false);
    toggleRef.current?.focus();
  }, []);

  return (
    <div className="flex h-full flex-col">
      <Header drawerOpen={drawerOpen} onToggleDrawer={() => setDrawerOpen((o) => !o)} toggleRef={toggleRef} />
      <div className="flex min-h-0 flex-1">
        <Nav sections={SECTIONS} />
        <main className="min-w-0 flex-1 overflow-y-auto" data-testid="page" data-section={section?.id ?? "not-found"}>
          <ErrorBoundary resetKey={pathname}>
            <Suspense fallback={<div className="p-6 text-xs text-zinc-500">Loading…</div>}>
              <Page />
            </Suspense>
          </ErrorBoundary>
        </main>
      </div>
      <StatusBar />
      <JobsDrawer open={drawerOpen} onClose={closeDrawer} />
      <Toaster />
    </div>
  );
}

/**
 * A tiny History-API router (no dependency): the shell only needs "which registered section
 * matches the current pathname", links, and programmatic navigation with query strings.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const NAV_EVENT = "mistudio:navigate";

function subscribe(cb: () => void): () => void {
  window.addEventListener("popstate", cb);
  window.addEventListener(NAV_EVENT, cb);
  return () => {
    window.removeEventListener("popstate", cb);
    window.removeEventListener(NAV_EVENT, cb);
  };
}

const getHref = () => window.location.pathname + window.location.search;

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, getHref, getHref);
  const url = new URL(href, "http://x");
  return { pathname: url.pathname, search: url.searchParams };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === getHref()) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAV_EVENT));
}

/** Update some query parameters of the current URL (undefined/null/"" removes one). */
export function setQuery(params: Record<string, string | number | null | undefined>, opts: { replace?: boolean } = {}) {
  const url = new URL(getHref(), "http://x");
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") url.searchParams.delete(k);
    else url.searchParams.set(k, String(v));
  }
  const qs = url.searchParams.toString();
  navigate(url.pathname + (qs ? `?${qs}` : ""), opts);
}

/** Does `pathname` belong to the section rooted at `base`? ("/" matches only itself.) */
export function matchesPath(base: string, pathname: string): boolean {
  if (base === "/") return pathname === "/" || pathname === "";
  return pathname === base || pathname.startsWith(`${base}/`);
}

export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (rest.target && rest.target !== "_self") return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}

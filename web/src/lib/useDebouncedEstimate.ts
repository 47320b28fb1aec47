/** One way to ask the server for an estimate while a form changes: debounced, the stale answer dropped. */
import { useEffect, useState } from "react";

export const ESTIMATE_DEBOUNCE_MS = 400;

/**
 * The answer of `fetch(request)`, asked `ESTIMATE_DEBOUNCE_MS` after the last change of `request` (null: the form
 * is not valid yet; `scope` names what else the answer depends on, e.g. the model). The request's `name` does not
 * change an estimate, so typing it asks nothing. An answer to an older request is dropped.
 */
export function useDebouncedEstimate<Request extends object, Estimate>(
  request: Request | null,
  fetch: (request: Request, signal: AbortSignal) => Promise<Estimate>,
  scope = "",
  clearErrorWhileAsking = false,
) {
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = request ? JSON.stringify({ ...request, name: null }) : null;
  useEffect(() => {
    if (key === null) {
      setEstimate(null);
      setError(null);
      setLoading(false);
      return;
    }
    const ctrl = new AbortController();
    setLoading(true);
    if (clearErrorWhileAsking) setError(null);
    const t = setTimeout(() => {
      fetch(JSON.parse(key) as Request, ctrl.signal)
        .then((e) => {
          if (ctrl.signal.aborted) return;
          setEstimate(e);
          setError(null);
        })
        .catch((e) => {
          if (ctrl.signal.aborted) return;
          setEstimate(null);
          setError(e);
        })
        .finally(() => !ctrl.signal.aborted && setLoading(false));
    }, ESTIMATE_DEBOUNCE_MS);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
    // `fetch` is the caller's function of `scope`: a new closure each render must not ask again.
  }, [scope, key]);
  return { estimate, loading, error };
}

import { Component, type ErrorInfo, type ReactNode } from "react";
import { RotateCw } from "lucide-react";
import { Button } from "./Button";

interface Props {
  children: ReactNode;
  /** Changing this (e.g. the route) clears a caught error. */
  resetKey?: unknown;
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("Page crashed:", error, info.componentStack);
  }

  override componentDidUpdate(prev: Props): void {
    if (this.state.error && prev.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div role="alert" data-testid="error-boundary" className="m-6 max-w-2xl rounded-md border border-red-900 bg-red-950/40 p-4">
        <h2 className="text-sm font-semibold text-red-200">This page hit an error</h2>
        <pre className="mt-2 max-h-64 overflow-auto font-mono text-xs whitespace-pre-wrap text-red-100">
          {error.name}: {error.message}
        </pre>
        <Button className="mt-3" variant="secondary" onClick={() => window.location.reload()} aria-label="Reload the page">
          <RotateCw className="size-3.5" aria-hidden /> Reload
        </Button>
      </div>
    );
  }
}

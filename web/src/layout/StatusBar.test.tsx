import { act, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { useHealth } from "../stores/health";
import { makeHealth } from "../test/fixtures";
import { StatusBar } from "./StatusBar";

beforeEach(() => useHealth.setState({ health: null, error: null }));

describe("StatusBar", () => {
  it("shows database, runner, disk and device; redis only when configured", () => {
    act(() => useHealth.setState({ health: makeHealth() }));
    render(<StatusBar />);
    expect(screen.getByTestId("health-database")).toHaveTextContent("sqlite");
    expect(screen.getByTestId("health-database")).toHaveAttribute("data-ok", "true");
    expect(screen.getByTestId("health-runner")).toHaveTextContent("runner: local");
    expect(screen.getByTestId("health-disk")).toHaveTextContent("50.0 GB free");
    expect(screen.getByTestId("health-device")).toHaveTextContent("CPU");
    expect(screen.queryByTestId("health-redis")).toBeNull();
  });

  it("shows a red dot and the detail when something is not ok", () => {
    act(() =>
      useHealth.setState({
        health: makeHealth({
          status: "degraded",
          runner: { mode: "celery", ok: false, detail: "no workers answered" },
          redis: { configured: true, ok: false, detail: "connection refused" },
          device: { kind: "cuda", name: "NVIDIA H100", memory_total_bytes: 80 * 1024 ** 3 },
        }),
      }),
    );
    render(<StatusBar />);
    expect(screen.getByTestId("health-runner")).toHaveAttribute("data-ok", "false");
    expect(screen.getByTestId("health-runner-detail")).toHaveTextContent("no workers answered");
    expect(screen.getByTestId("health-redis-detail")).toHaveTextContent("connection refused");
    expect(screen.getByTestId("health-device")).toHaveTextContent("NVIDIA H100");
  });

  it("says when the server cannot be reached", () => {
    act(() => useHealth.setState({ error: new ApiError(0, "network_error", "Cannot reach the miStudio server (x).") }));
    render(<StatusBar />);
    expect(screen.getByTestId("health-error")).toHaveAttribute("data-ok", "false");
    expect(screen.getByTestId("health-error-detail")).toHaveTextContent("Cannot reach");
  });
});

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./index.css";
import { isApiError } from "./api/client";
import { Shell } from "./layout/Shell";
import { startHealthPolling } from "./stores/health";
import { startLive } from "./stores/live";
import { reportError } from "./stores/toasts";

// Any API error that escapes a handler still reaches the user with the server's message.
window.addEventListener("unhandledrejection", (e) => {
  if (isApiError(e.reason)) {
    e.preventDefault();
    reportError(e.reason);
  }
});

startHealthPolling();
startLive();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Shell />
  </StrictMode>,
);

import { useState } from "react";
import { Loader2, Square } from "lucide-react";
import type { Job } from "../api/types";
import { useJobs } from "../stores/jobs";
import { Button } from "./Button";
import { ConfirmDialog } from "./Modal";

/** Cancel with confirmation; shows "cancelling…" once requested (server flag or request in flight). */
export function CancelJobButton({ job, testId }: { job: Job; testId?: string }) {
  const [confirming, setConfirming] = useState(false);
  const inFlight = useJobs((s) => s.cancelling[job.id] === true);
  const cancel = useJobs((s) => s.cancel);
  const pending = job.cancel_requested || inFlight;
  const tid = testId ?? `job-cancel-${job.id}`;

  if (pending) {
    return (
      <Button size="sm" variant="ghost" disabled data-testid={tid} data-cancelling="true" aria-label={`Cancelling job ${job.id}`}>
        <Loader2 className="size-3 animate-spin" aria-hidden /> cancelling…
      </Button>
    );
  }
  return (
    <>
      <Button size="sm" variant="danger" data-testid={tid} aria-label={`Cancel job ${job.kind} ${job.id}`} onClick={() => setConfirming(true)}>
        <Square className="size-3" aria-hidden /> Cancel
      </Button>
      <ConfirmDialog
        open={confirming}
        title="Cancel this job?"
        message={
          <>
            <span className="font-mono text-zinc-100">{job.kind}</span> ({job.id}) will stop at its next checkpoint. Work done so
            far may be lost.
          </>
        }
        confirmLabel="Cancel job"
        cancelLabel="Keep running"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void cancel(job.id);
        }}
      />
    </>
  );
}

/**
 * What a job declares it reads and writes (`{type, id}`, e.g. `{type: "model", id}`): how the UI finds the rows a
 * job works on, never from the job's kind or the names of its parameters.
 */
import type { Job } from "./types";

/** The id of the first resource of `type` the job produces, or null. */
export function writtenIdOfJob(job: Pick<Job, "writes">, type: string): string | null {
  return job.writes.find((r) => r.type === type)?.id ?? null;
}

/** The id of the first resource of `type` the job uses, or null. */
export function readIdOfJob(job: Pick<Job, "reads">, type: string): string | null {
  return job.reads.find((r) => r.type === type)?.id ?? null;
}

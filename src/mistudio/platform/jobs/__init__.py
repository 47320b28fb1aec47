"""Background jobs: one `jobs` table as the source of truth, a process per job, two runners."""

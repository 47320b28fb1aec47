"""Infrastructure every domain shares: settings-driven database, jobs, events, storage, logging."""

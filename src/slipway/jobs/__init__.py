"""Running jobs outside the caller's process: a run is executed by a
detached worker process that records its progress in the metadata database,
so the CLI or SDK that started it can exit, poll, or cancel it."""

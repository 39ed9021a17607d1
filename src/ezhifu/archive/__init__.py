"""ezhifu.archive: DA/T 95 archive packages (placeholder, filled below)."""

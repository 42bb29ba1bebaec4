"""`streamvault status`: the one place to see whether the pipeline is healthy (also the demo's live view)."""

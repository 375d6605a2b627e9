"""The pipeline: candidates, jobs and applications, and bringing them in and out (import, export)."""

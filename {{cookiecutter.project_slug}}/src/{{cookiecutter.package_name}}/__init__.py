"""The team's Conductor workers (`workers/`) and their task and workflow definitions (`definitions/`)."""

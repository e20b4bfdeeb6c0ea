"""Shared test tooling: the real Conductor server, baked projects, and (in docker_engine) a Docker daemon."""

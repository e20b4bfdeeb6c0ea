"""Tooling shared by the tests, the benchmark (`bench/`) and the demo (`scripts/demo.py`): the real Conductor
server, baked projects, the auth proxy, extra workers and (in docker_engine) a private Docker engine."""

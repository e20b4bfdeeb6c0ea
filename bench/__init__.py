"""Throughput, latency, memory and start-up benchmark of the generated worker against a real Conductor server.

Run: `.venv/bin/python -m bench` (see docs/benchmark.md).
"""

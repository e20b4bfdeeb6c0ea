"""A Conductor worker: workers, configuration, definitions and the commands that run them."""

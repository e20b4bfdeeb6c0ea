"""`python -m {{ cookiecutter.package_name }} [worker|register|run-workflow|doctor|health|new-worker|schemas]`.

The commands come from conductor_worker_kit; they serve the functions in `workers.WORKERS` and the JSON
in `definitions/` of this package.
"""

from conductor_worker_kit import main

if __name__ == "__main__":
    raise SystemExit(main("{{ cookiecutter.package_name }}"))

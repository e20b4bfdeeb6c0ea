# The template's own virtualenv (.venv) from its lock, the way a generated project makes its own: uv at the
# version and hashes uv.lock pins, in a small virtualenv of its own (.uv), then `uv sync --locked` of the
# `test` group (pyproject.toml). Needs a python3 of 3.11 or newer on PATH.
ensure_template_venv() {
  if [ ! -x .uv/bin/python ]; then
    python3 -m venv .uv
  fi
  local requirement=.uv/uv-requirement.txt
  python3 '{{cookiecutter.project_slug}}/scripts/locked_version.py' --requirement uv uv.lock > "$requirement"
  .uv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$requirement"
  .uv/bin/python -m uv sync --locked --quiet --python python3
}

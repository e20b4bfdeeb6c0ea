"""Print the version uv.lock pins for one package, e.g. `python scripts/locked_version.py uv`.

`make install` and the Dockerfile install uv itself with it, so uv's version is the one the lock
holds, and Dependabot's uv updates move it like any other dependency.
"""

import sys
import tomllib
from pathlib import Path


def locked_version(lock_text: str, name: str) -> str:
    versions = {str(package["version"]) for package in tomllib.loads(lock_text)["package"] if package["name"] == name}
    if len(versions) != 1:
        raise ValueError(f"uv.lock: expected one locked version of {name}, found {sorted(versions) or 'none'}")
    return versions.pop()


def main(argv: list[str]) -> int:
    lock = Path(argv[1]) if len(argv) > 1 else Path("uv.lock")
    try:
        print(locked_version(lock.read_text(), argv[0]))
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as error:
        print(f"ERROR: {lock}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

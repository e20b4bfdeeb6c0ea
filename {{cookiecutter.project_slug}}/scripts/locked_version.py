"""Print what uv.lock pins for one package.

    python scripts/locked_version.py uv                        # its version, e.g. 0.13.9
    python scripts/locked_version.py --requirement uv > r.txt  # uv==0.13.9 --hash=sha256:... (every file)
    python -m pip install --require-hashes --no-deps -r r.txt

`make install` and the Dockerfile install uv itself with the second form: pip installs only a file
whose SHA-256 uv.lock lists (one per wheel and the sdist), so uv's version and bytes are the ones the
lock holds, and Dependabot's uv updates move them like any other dependency.
"""

import sys
import tomllib
from pathlib import Path
from typing import Any


def locked_package(lock_text: str, name: str) -> dict[str, Any]:
    found = [package for package in tomllib.loads(lock_text)["package"] if package["name"] == name]
    versions = sorted({str(package["version"]) for package in found})
    if len(versions) != 1:
        raise ValueError(f"uv.lock: expected one locked version of {name}, found {versions or 'none'}")
    package: dict[str, Any] = found[0]
    return package


def locked_version(lock_text: str, name: str) -> str:
    return str(locked_package(lock_text, name)["version"])


def hashed_requirement(lock_text: str, name: str) -> str:
    """`name==version` with a --hash for every wheel and sdist the lock lists (pip's --require-hashes form)."""
    package = locked_package(lock_text, name)
    files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
    hashes = sorted({str(file["hash"]) for file in files if str(file.get("hash", "")).startswith("sha256:")})
    if not hashes:
        raise ValueError(f"uv.lock: {name} {package['version']} has no sha256 hashes")
    return " \\\n    ".join([f"{name}=={package['version']}", *(f"--hash={digest}" for digest in hashes)])


def main(argv: list[str]) -> int:
    requirement = argv[:1] == ["--requirement"]
    arguments = argv[1:] if requirement else argv
    if not arguments:
        print("usage: locked_version.py [--requirement] PACKAGE [uv.lock]", file=sys.stderr)
        return 2
    lock = Path(arguments[1]) if len(arguments) > 1 else Path("uv.lock")
    try:
        text = lock.read_text()
        print(hashed_requirement(text, arguments[0]) if requirement else locked_version(text, arguments[0]))
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as error:
        print(f"ERROR: {lock}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run the generated scripts/launch.sh with a stand-in kubectl, and read back what it would apply.

The stand-in records each call and keeps the kustomize overlay that launch.sh wrote; `applied` then
applies that overlay's JSON patches to the project's k8s/ manifests, the way kustomize would, so a
test sees the exact ScaledObject and Deployment a cluster would get (KEDA's URLs included).
"""

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

IMAGE = "ghcr.io/acme/worker:abc123"


def launch(project_path: Path, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """scripts/launch.sh IMAGE, as deploy.yml runs it, with kubectl answering every call with success."""
    record, fake = work / "kubectl.log", work / "bin" / "kubectl"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {record}\n'
        f'[ "$1" = apply ] && cp "$3/kustomization.yaml" {work}/overlay.yaml\nexit 0\n'
    )
    fake.chmod(0o755)
    full_env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["bash", "scripts/launch.sh", IMAGE],
        cwd=project_path,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


def _apply(document: Any, operations: list[dict[str, Any]]) -> Any:
    for operation in operations:
        *parents, last = operation["path"].strip("/").split("/")
        target = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if operation["op"] == "replace":
            assert (int(last) < len(target)) if isinstance(target, list) else last in target, operation
            target[int(last) if isinstance(target, list) else last] = operation["value"]
        elif operation["op"] == "add" and last == "-":
            target.append(operation["value"])
        else:
            raise AssertionError(f"unexpected patch operation {operation}")
    return document


def applied(project_path: Path, work: Path) -> dict[str, Any]:
    """The k8s/ manifests by kind, with the overlay's patches applied."""
    overlay = yaml.safe_load((work / "overlay.yaml").read_text())
    manifests = {}
    for path in sorted((project_path / "k8s").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if document.get("kind") != "Kustomization":
            manifests[document["kind"]] = document
    for patch in overlay.get("patches", []):
        kind = patch["target"]["kind"]
        manifests[kind] = _apply(manifests[kind], yaml.safe_load(patch["patch"]))
    return manifests

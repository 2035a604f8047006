"""``deployments/prefect.yaml`` (work pools) and ``pemantik serve`` list the same deployments.

Both are ways to run the same product; a deployment added to one and forgotten in the other
would be missing in production. Compared: each deployment's name and entrypoint (the flow).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from deployments.serve import deployment_pairs

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "deployments" / "prefect.yaml"


def _project_entrypoint(entrypoint: str) -> str:
    """'flows/cycle.py:cycle_flow', whatever folder the entrypoint was made relative to."""
    path, _, name = entrypoint.rpartition(":")
    resolved = (Path.cwd() / path).resolve()
    return f"{resolved.relative_to(ROOT).as_posix()}:{name}"


def served() -> set[tuple[str, str]]:
    return {(d.name, _project_entrypoint(d.entrypoint)) for _flow, d in deployment_pairs()}


def in_prefect_yaml() -> set[tuple[str, str]]:
    config = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    return {(d["name"], d["entrypoint"]) for d in config["deployments"]}


def test_prefect_yaml_lists_what_serve_registers() -> None:
    listed, registered = in_prefect_yaml(), served()
    assert listed == registered, (
        f"only in prefect.yaml: {sorted(listed - registered)}; "
        f"only in pemantik serve: {sorted(registered - listed)}"
    )


def test_every_entrypoint_in_prefect_yaml_exists() -> None:
    for _name, entrypoint in in_prefect_yaml():
        path, _, function = entrypoint.rpartition(":")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {function}(" in source, entrypoint

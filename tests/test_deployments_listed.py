"""``deployments/prefect.yaml`` (work pools) and ``pemantik serve`` list the same deployments.

Both are ways to run the same product; a deployment added to one and forgotten in the other
would be missing in production. Compared: each deployment's name and entrypoint (the flow),
its schedules (the settings' defaults), its tags and its work pool.
"""

from __future__ import annotations

import importlib
import inspect
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


def _schedule(entry: object) -> tuple:
    """A schedule as comparable data, from a yaml entry or a Prefect schedule object."""
    if isinstance(entry, dict):
        if "cron" in entry:
            return ("cron", entry["cron"], entry.get("timezone") or "UTC")
        return ("interval", float(entry["interval"]))
    if hasattr(entry, "cron"):
        return ("cron", entry.cron, entry.timezone or "UTC")
    return ("interval", entry.interval.total_seconds())


def _flow_entrypoint(flow: object) -> str:
    source = Path(inspect.getsourcefile(flow.fn)).resolve().relative_to(ROOT)
    return f"{source.as_posix()}:{flow.fn.__name__}"


def test_prefect_yaml_schedules_tags_and_pool_match() -> None:
    served_specs = {
        (flow.name, d.name): {
            "entrypoint": _flow_entrypoint(flow),
            "schedules": sorted(_schedule(s.schedule) for s in d.schedules),
            "tags": sorted(d.tags),
        }
        for flow, d in deployment_pairs()
    }
    config = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    listed = {}
    for entry in config["deployments"]:
        module, name = entry["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), name)
        key = (flow.name, entry["name"])
        assert key not in listed, f"{key} listed twice in prefect.yaml"
        listed[key] = {
            "entrypoint": entry["entrypoint"],
            "schedules": sorted(_schedule(s) for s in entry.get("schedules") or []),
            "tags": sorted(entry.get("tags") or []),
        }
        pool = entry["work_pool"]
        assert pool["name"] == "pemantik"
        assert pool["job_variables"]["env"]["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"
    assert sorted(listed) == sorted(served_specs)
    for key, spec in served_specs.items():
        assert listed[key] == spec, key

"""``deployments/prefect.yaml`` (process workers) lists exactly what ``pemantik serve`` registers."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _schedule(entry: object) -> tuple:
    """A schedule as comparable data, from a yaml entry or a Prefect schedule object."""
    if isinstance(entry, dict):
        if "cron" in entry:
            return ("cron", entry["cron"], entry.get("timezone") or "UTC")
        return ("interval", float(entry["interval"]))
    if hasattr(entry, "cron"):
        return ("cron", entry.cron, entry.timezone or "UTC")
    return ("interval", entry.interval.total_seconds())


def _entrypoint(flow: object) -> str:
    source = Path(inspect.getsourcefile(flow.fn)).resolve().relative_to(ROOT)
    return f"{source.as_posix()}:{flow.fn.__name__}"


def _served() -> dict[tuple[str, str], dict]:
    from deployments.serve import deployment_pairs

    return {
        (flow.name, d.name): {
            "entrypoint": _entrypoint(flow),
            "schedules": sorted(_schedule(s.schedule) for s in d.schedules),
            "tags": sorted(d.tags),
        }
        for flow, d in deployment_pairs()
    }


def _listed() -> dict[tuple[str, str], dict]:
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    listed = {}
    for entry in spec["deployments"]:
        module, name = entry["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), name)
        key = (flow.name, entry["name"])
        assert key not in listed, f"{key} dua kali di prefect.yaml"
        listed[key] = {
            "entrypoint": entry["entrypoint"],
            "schedules": sorted(_schedule(s) for s in entry.get("schedules") or []),
            "tags": sorted(entry.get("tags") or []),
        }
        pool = entry["work_pool"]
        assert pool["name"] == "pemantik"
        assert pool["job_variables"]["env"]["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"
    return listed


def test_prefect_yaml_lists_every_served_deployment():
    served, listed = _served(), _listed()
    assert sorted(listed) == sorted(served)
    for key, spec in served.items():
        assert listed[key] == spec, key

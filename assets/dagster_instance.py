"""The Dagster instance that ``grading run`` records its runs in, opened quietly.

Dagster prints a telemetry notice and a welcome banner the first time a run touches an
instance whose dagster.yaml says nothing about telemetry. In a ``grading run`` that
happened in the middle of the first month, between its progress lines. So the command
line opens the instance itself:

- a dagster.yaml that sets ``telemetry`` is followed as it is; when it enables it,
  Dagster's notice is printed once, as the instance opens, before any progress line;
- a dagster.yaml that says nothing about telemetry (or no dagster.yaml) gets it off for
  the command line's runs: a batch tool does not start collecting usage data unasked.
  The repository's dagster.yaml (``make demo``, ``make ui``) turns it off anyway.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg

TELEMETRY_OFF = {"telemetry": {"enabled": False}}


def run_instance() -> dg.DagsterInstance:
    """$DAGSTER_HOME's instance when it is set (so the UI shows the runs), else an
    ephemeral one; never with a banner between the run's progress lines."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    return quiet_instance(Path(home))


def quiet_instance(home: Path) -> dg.DagsterInstance:
    """The instance of ``home``; telemetry off unless its dagster.yaml decides (above)."""
    from dagster._core.instance.ref import InstanceRef
    from dagster_shared.telemetry import get_or_set_instance_id

    overrides = {} if "telemetry" in instance_settings(home) else TELEMETRY_OFF
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))
    if instance.telemetry_enabled:
        get_or_set_instance_id()  # the notice, if it is due, now rather than mid-run
    return instance


def instance_settings(home: Path) -> dict[str, Any]:
    """The top-level settings of ``home``'s dagster.yaml ({} when it has none)."""
    import yaml

    path = home / "dagster.yaml"
    if not path.is_file():
        return {}
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    return settings if isinstance(settings, dict) else {}

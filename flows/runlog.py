"""The flows' own run logger: Indonesian lines on the run pages at their own level.

``pemantik serve`` sets ``PREFECT_LOGGING_LEVEL=WARNING`` to quiet Prefect's own logs; that
level also applies to ``get_run_logger()``, so the run pages would say "This run did not
produce any logs". Ours is a child of Prefect's run logger with its own level
(``PEMANTIK_RUN_LOG_LEVEL``, INFO by default): records still reach the API handler of
``prefect.flow_runs`` through propagation, which ignores the parents' levels.
"""

from __future__ import annotations

import logging

from prefect import get_run_logger
from prefect.logging.loggers import PrefectLogAdapter

from models.settings import get_settings


def run_logger() -> logging.LoggerAdapter:
    """The current flow or task run's logger, at ``PEMANTIK_RUN_LOG_LEVEL``."""
    base = get_run_logger()
    logger = logging.getLogger(f"{base.logger.name}.pemantik")  # prefect.flow_runs/task_runs
    logger.setLevel(get_settings().run_log_level.upper())
    return PrefectLogAdapter(logger, extra=dict(base.extra))

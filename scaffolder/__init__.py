"""goperf-scaffold: generate performance-ready Go HTTP services and keep them current."""

from __future__ import annotations

from ._adopt import AdoptResult, adopt_service
from ._check import CheckResult, check_service
from ._drift import DiffResult, FileDrift, diff_service
from ._fleet_status import RepoStatus, fleet_status
from ._fleet_update import FleetUpdateReport, RepoUpdate, fleet_update
from ._heal import HealResult, heal_service
from ._new import NewResult, new_service
from ._org_config import (
    ORG_CONFIG_KEYS,
    org_config_path,
    read_org_config,
    set_org_config_value,
    unset_org_config_value,
)
from ._package import installed_version
from ._progress import Progress, SilentProgress, StreamProgress
from ._steps import StepReport
from ._update import UpdateResult, update_service
from .errors import ExitCode, ScaffoldError

__version__ = installed_version()

__all__ = [
    "ORG_CONFIG_KEYS",
    "AdoptResult",
    "CheckResult",
    "DiffResult",
    "ExitCode",
    "FileDrift",
    "FleetUpdateReport",
    "HealResult",
    "NewResult",
    "Progress",
    "RepoStatus",
    "RepoUpdate",
    "ScaffoldError",
    "SilentProgress",
    "StepReport",
    "StreamProgress",
    "UpdateResult",
    "__version__",
    "adopt_service",
    "check_service",
    "diff_service",
    "fleet_status",
    "fleet_update",
    "heal_service",
    "new_service",
    "org_config_path",
    "read_org_config",
    "set_org_config_value",
    "unset_org_config_value",
    "update_service",
]

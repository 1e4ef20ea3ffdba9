"""Check registration by explicit import; duplicate ids are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

from soc2gate.checks.base import Check
from soc2gate.config import GateConfig

CHECK_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")


class DuplicateCheckError(ValueError):
    pass


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def register(self, check: Check) -> None:
        if not CHECK_ID.match(check.id):
            raise ValueError(f"check id {check.id!r} is not lower-kebab-case")
        if check.id in self._checks:
            raise DuplicateCheckError(f"duplicate check id {check.id!r}")
        self._checks[check.id] = check

    def validate(self) -> None:
        """Every check a check depends on (or defers to) is registered, and nothing depends on
        itself through others: the runner starts dependencies first (``start_order``)."""
        for check in self._checks.values():
            for dependency in (*check.depends_on, *check.defers_to):
                if dependency not in self._checks:
                    raise ValueError(
                        f"{check.id} depends on {dependency!r}, which is not registered"
                    )
        start_order(tuple(self._checks.values()))

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)


_REGISTRY: Registry | None = None


def start_order(checks: tuple[Check, ...]) -> tuple[Check, ...]:
    """``checks`` in report order, moved only as far as needed for every check to come after
    the checks it depends on or defers to (among ``checks``): the order the runner starts
    them in, so a check waiting on another never waits on one that has not started."""
    by_id = {c.id: c for c in checks}
    placed: dict[str, Check] = {}
    visiting: list[str] = []

    def place(check: Check) -> None:
        if check.id in placed:
            return
        if check.id in visiting:
            cycle = " -> ".join([*visiting[visiting.index(check.id) :], check.id])
            raise ValueError(f"checks depend on each other in a cycle: {cycle}")
        visiting.append(check.id)
        for dependency in (*check.depends_on, *check.defers_to):
            if dependency in by_id:
                place(by_id[dependency])
        visiting.pop()
        placed[check.id] = check

    for check in checks:
        place(check)
    return tuple(placed.values())


def checks_for(config: GateConfig) -> tuple[Check, ...]:
    """The built-in checks, then the config's custom checks (``custom_checks``) in its order."""
    from soc2gate.checks.custom import build

    return (*all_checks(), *build(config.custom_checks))


def all_checks() -> tuple[Check, ...]:
    """Every check, in report order."""
    global _REGISTRY
    if _REGISTRY is None:
        from soc2gate.checks.ecr.ecr_image_tags import EcrImageTags
        from soc2gate.checks.ecr.ecr_image_user import EcrImageUser
        from soc2gate.checks.ecr.ecr_repository_config import EcrRepositoryConfig
        from soc2gate.checks.ecr.ecr_scan_findings import EcrScanFindings
        from soc2gate.checks.provenance.deployed_image_signed import DeployedImageSigned
        from soc2gate.checks.sagemaker.deployed_image_scanned import DeployedImageScanned
        from soc2gate.checks.sagemaker.sagemaker_data_capture import SagemakerDataCapture
        from soc2gate.checks.sagemaker.sagemaker_deployment_guardrails import (
            SagemakerDeploymentGuardrails,
        )
        from soc2gate.checks.sagemaker.sagemaker_endpoint_availability import (
            SagemakerEndpointAvailability,
        )
        from soc2gate.checks.sagemaker.sagemaker_endpoint_config import SagemakerEndpointConfig
        from soc2gate.checks.sagemaker.sagemaker_endpoint_encryption import (
            SagemakerEndpointEncryption,
        )
        from soc2gate.checks.sagemaker.sagemaker_endpoint_status import SagemakerEndpointStatus
        from soc2gate.checks.sagemaker.sagemaker_model_card import SagemakerModelCard
        from soc2gate.checks.sagemaker.sagemaker_model_env import SagemakerModelEnv
        from soc2gate.checks.sagemaker.sagemaker_model_isolation import SagemakerModelIsolation

        registry = Registry()
        for check_class in (
            EcrRepositoryConfig,
            EcrImageTags,
            EcrScanFindings,
            EcrImageUser,
            # model-env and endpoint-config judge the endpoint this one saw InService
            # (depends_on), so it is registered before them.
            SagemakerEndpointStatus,
            SagemakerModelEnv,
            SagemakerEndpointConfig,
            # Reads ecr-scan-findings' result (depends_on), so it is registered after it.
            DeployedImageScanned,
            # Deployment safety (off by default; --preset strict): they judge the endpoint
            # sagemaker-endpoint-status saw InService (depends_on).
            SagemakerEndpointEncryption,
            SagemakerModelIsolation,
            SagemakerEndpointAvailability,
            SagemakerDeploymentGuardrails,
            SagemakerDataCapture,
            SagemakerModelCard,
            # Judges the digests deployed-image-scanned read (depends_on), so it comes after.
            DeployedImageSigned,
        ):
            registry.register(check_class())
        registry.validate()
        _REGISTRY = registry
    return tuple(_REGISTRY)

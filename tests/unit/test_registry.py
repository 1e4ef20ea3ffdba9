"""The check registry: ids unique and well formed, duplicates refused, metadata complete."""

from __future__ import annotations

import re

import pytest

from soc2gate.checks.base import Check
from soc2gate.checks.ecr.ecr_image_tags import EcrImageTags
from soc2gate.config import GateConfig
from soc2gate.registry import DuplicateCheckError, Registry, all_checks, start_order

CHECKS = all_checks()
ID_FORMAT = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
# SOC 2 Trust Services Criteria ids: CC1.1-CC9.9, A1.x, C1.x, PI1.x, P1.x-P8.x.
SOC2_CRITERION = re.compile(r"^(CC[1-9]\.[1-9]|A1\.[1-3]|C1\.[1-2]|PI1\.[1-5]|P[1-8]\.[1-9])$")


GROUPS = ("soc2gate.checks.ecr", "soc2gate.checks.sagemaker", "soc2gate.checks.provenance")


def test_there_are_fifteen_checks_with_unique_ids() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 15


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_check_id_is_well_formed_and_names_its_module(check: Check) -> None:
    assert ID_FORMAT.match(check.id)
    # One check, one module: the id is the module name in kebab case, in the group of what
    # it reads (checks/ecr/, checks/sagemaker/).
    package, _, module = type(check).__module__.rpartition(".")
    assert module == check.id.replace("-", "_")
    assert package in GROUPS, package
    if check.id.startswith(("ecr-", "sagemaker-")):
        assert package == "soc2gate.checks." + check.id.split("-")[0]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_check_metadata_is_complete(check: Check) -> None:
    for field in ("title", "asserts", "remediation"):
        value = getattr(check, field)
        assert isinstance(value, str) and value.strip(), f"{check.id}.{field} is empty"
        assert "\n" not in value, f"{check.id}.{field} must be one line"
    assert len(check.title) <= 80
    assert isinstance(check.soc2, tuple) and check.soc2
    for criterion in check.soc2:
        assert SOC2_CRITERION.match(criterion), f"{check.id}: {criterion!r}"
    assert type(check).run is not Check.run
    assert type(check).skip_reason is not Check.skip_reason


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_an_unconfigured_check_is_skipped_with_a_reason(check: Check) -> None:
    reason = check.skip_reason(GateConfig())
    assert reason is not None and reason.startswith("not configured")


def test_duplicate_registration_is_refused() -> None:
    registry = Registry()
    registry.register(EcrImageTags())
    with pytest.raises(DuplicateCheckError, match="duplicate check id 'ecr-image-tags'"):
        registry.register(EcrImageTags())
    assert len(registry) == 1


# (case, id, accepted)
ID_CASES = [
    ("kebab", "ecr-new-check", True),
    ("digits", "ecr-v2-check", True),
    ("single-word", "ecr", False),
    ("upper-case", "ECR-Check", False),
    ("underscore", "ecr_check", False),
    ("trailing-dash", "ecr-check-", False),
    ("double-dash", "ecr--check", False),
    ("leading-digit", "2ecr-check", False),
    ("space", "ecr check", False),
]


@pytest.mark.parametrize(
    ("check_id", "accepted"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES]
)
def test_registry_refuses_malformed_ids(check_id: str, accepted: bool) -> None:
    check_class = type("Probe", (EcrImageTags,), {"id": check_id})
    registry = Registry()
    if accepted:
        registry.register(check_class())
        assert [c.id for c in registry] == [check_id]
    else:
        with pytest.raises(ValueError, match="lower-kebab-case"):
            registry.register(check_class())
        assert len(registry) == 0


SAFETY = [
    "sagemaker-endpoint-encryption",
    "sagemaker-model-isolation",
    "sagemaker-endpoint-availability",
    "sagemaker-deployment-guardrails",
    "sagemaker-data-capture",
    "sagemaker-model-card",
]


def test_all_checks_is_stable_and_in_report_order() -> None:
    assert all_checks() == CHECKS
    assert [c.id for c in CHECKS] == [
        "ecr-repository-config",
        "ecr-image-tags",
        "ecr-scan-findings",
        "ecr-image-user",
        "sagemaker-endpoint-status",
        "sagemaker-model-env",
        "sagemaker-endpoint-config",
        "deployed-image-scanned",
        *SAFETY,
        "deployed-image-signed",
    ]
    # The image-user check, the deployment safety checks and deployed-image-signed are off by
    # default; --preset strict turns the first seven on (signing needs a --signing-profile).
    assert [c.id for c in CHECKS if not c.default_enabled] == [
        "ecr-image-user",
        *SAFETY,
        "deployed-image-signed",
    ]
    assert [c.id for c in CHECKS if c.strict] == ["ecr-image-user", *SAFETY]
    # The runner starts a dependency before the checks that wait on it; the report keeps the
    # reading order (tags before the scan they are compared with).
    started = [c.id for c in start_order(CHECKS)]
    for check in CHECKS:
        for dependency in (*check.depends_on, *check.defers_to):
            assert started.index(dependency) < started.index(check.id)
    assert started[:3] == ["ecr-repository-config", "ecr-scan-findings", "ecr-image-tags"]


def test_a_dependency_cycle_or_an_unknown_dependency_is_refused() -> None:
    first = type(
        "First", (EcrImageTags,), {"id": "cycle-one", "depends_on": ("cycle-two",), "defers_to": ()}
    )
    second = type(
        "Second",
        (EcrImageTags,),
        {"id": "cycle-two", "depends_on": ("cycle-one",), "defers_to": ()},
    )
    registry = Registry()
    registry.register(first())
    with pytest.raises(ValueError, match="'cycle-two', which is not registered"):
        registry.validate()
    registry.register(second())
    with pytest.raises(ValueError, match="cycle: cycle-one -> cycle-two -> cycle-one"):
        registry.validate()

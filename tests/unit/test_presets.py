"""--preset baseline|strict (issue 21): which checks run, and how it meets --enable/--skip/--only."""

from __future__ import annotations

import pytest

from soc2gate.config import OPTION_BY_KEY, ConfigError, action_inputs, build_config
from soc2gate.registry import all_checks
from soc2gate.runner import select_checks

IDS = [c.id for c in all_checks()]
SAFETY = [
    "sagemaker-endpoint-encryption",
    "sagemaker-model-isolation",
    "sagemaker-endpoint-availability",
    "sagemaker-deployment-guardrails",
    "sagemaker-data-capture",
    "sagemaker-model-card",
]
BASE = {"endpoint": "e", "repository": "r", "require_tags": ("t",)}


def running(**values: object) -> list[str]:
    config = build_config({}, {**BASE, **values}, IDS)
    return [check.id for check, why in select_checks(config) if why is None]


def test_baseline_is_the_default_and_strict_adds_the_image_user_and_safety_checks() -> None:
    default = running()
    assert running(preset="baseline") == default
    assert not set(default) & {"ecr-image-user", *SAFETY}
    assert running(preset="strict") == [*default[:3], "ecr-image-user", *default[3:], *SAFETY]


def test_checks_still_turn_on_and_off_by_id_under_a_preset() -> None:
    assert "sagemaker-data-capture" not in running(
        preset="strict", skip=("sagemaker-data-capture",)
    )
    assert (
        running(preset="baseline", enable=("sagemaker-model-card",))[-1] == "sagemaker-model-card"
    )
    assert running(enable=tuple(SAFETY))[-6:] == SAFETY


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"preset": "strict", "only": ("sagemaker-endpoint-status",)}, "--preset strict and --only"),
        ({"enable": ("sagemaker-model-card",), "skip": ("sagemaker-model-card",)}, "--enable and --skip"),
    ],
)  # fmt: skip
def test_contradicting_selections_are_usage_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config({}, {**BASE, **values}, IDS)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("preset", "paranoid", "preset: expected one of baseline, strict"),
        ("min_capture_percent", 101, "must be at most 100"),
        ("allowed_repository_access", "Docker", "expected Platform or Vpc"),
        ("capture_buckets", ["s3://bucket"], r"an S3 bucket name \(no s3://\)"),
    ],
)
def test_bad_values_are_usage_errors(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OPTION_BY_KEY[key].parse(key, value)


def test_the_action_takes_the_preset_as_an_input() -> None:
    values, _ = action_inputs({"INPUT_PRESET": "strict", "INPUT_REQUIRE-AUTOSCALING": "true"})
    assert values["preset"] == "strict" and values["require_autoscaling"] is True

"""sagemaker-model-card's verdict on the values it read: a card documents the package version
the endpoint runs only when both ARNs were read and are equal."""

from __future__ import annotations

from soc2gate.checks.sagemaker._sagemaker import ModelPackage
from soc2gate.checks.sagemaker.sagemaker_model_card import SagemakerModelCard, evaluate_card
from soc2gate.models import Status

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/defender/3"


def package(arn: str) -> ModelPackage:
    return ModelPackage(
        name="defender/3", arn=arn, approval="Approved", status="Completed", containers=()
    )


def test_an_approved_card_naming_the_package_passes() -> None:
    result = evaluate_card(SagemakerModelCard(), "card", "Approved", "", ARN, [package(ARN)])
    assert result.status is Status.PASS, result.reason


def test_a_card_naming_no_package_does_not_document_a_package_whose_arn_was_not_read() -> None:
    result = evaluate_card(SagemakerModelCard(), "card", "Approved", "", "", [package("")])
    assert result.status is Status.FAIL
    assert "no model_package_details.model_package_arn" in result.reason
    assert "defender/3" in result.reason


def test_a_card_for_another_version_fails_naming_both() -> None:
    other = ARN[:-1] + "2"
    result = evaluate_card(SagemakerModelCard(), "card", "Approved", "", other, [package(ARN)])
    assert result.status is Status.FAIL
    assert other in result.reason and ARN in result.reason

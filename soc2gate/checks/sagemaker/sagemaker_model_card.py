"""sagemaker-model-card: the Model Registry package the endpoint runs is documented by an
Approved model card.

The models behind the config the endpoint runs once InService and settled (and those of its
inference components) name the packages they deploy (ModelPackageName). Each package must have
an Approved model card:

- with --model-card NAME: that card (DescribeModelCard with IncludedData MetadataOnly, so no
  kms:Decrypt of a card encrypted with your key is needed) is Approved, not being deleted, and
  its content's model_package_details.model_package_arn (one of the few paths the metadata-only
  answer keeps) names the package version the endpoint runs;
- without it: the card registered with the package version itself (DescribeModelPackage's
  ModelCard.ModelCardStatus) is Approved.

An endpoint that runs no Model Registry package has nothing documenting its model: FAIL.
"""

from __future__ import annotations

from collections.abc import Sequence

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.sagemaker._safety import describe_model_card, package_card_status
from soc2gate.checks.sagemaker._sagemaker import (
    ModelPackage,
    describe_model,
    served_models,
)
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.models import CheckResult


class SagemakerModelCard(EndpointTargetCheck):
    id = "sagemaker-model-card"
    title = "The deployed Model Registry package has an Approved model card"
    asserts = (
        "Every Model Registry package the endpoint runs (through the models behind the config "
        "it runs once InService and settled, and its inference components) has an Approved "
        "model card: --model-card NAME read with DescribeModelCard IncludedData MetadataOnly "
        "(no kms:Decrypt), Approved, not being deleted, and naming the package version in "
        "model_package_details.model_package_arn; without --model-card, the card registered "
        "with the package version (ModelCard.ModelCardStatus); an endpoint running no package "
        "fails."
    )
    remediation = (
        "Deploy the model from a Model Registry package version, document it in a model card "
        "whose model_package_details names that version, and approve the card (aws sagemaker "
        "update-model-card --model-card-status Approved, or update-model-package "
        "--model-card ModelCardStatus=Approved); pass the card with --model-card."
    )
    soc2 = ("CC8.1", "CC2.1")
    default_enabled = False
    strict = True
    beyond = (
        "no Security Hub control or AWS Config rule ties a deployed endpoint to an approved "
        "model card"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        served = served_models(ctx, target.endpoint.name, target.config_names)
        if isinstance(served, str):
            return self.error(served)
        if served.bare_components:
            # A component that runs its own container is no Model Registry package: no card
            # documents it, whatever documents the others.
            return target.cap(
                self,
                self.failed(
                    f"inference component(s) {', '.join(served.bare_components)} of endpoint "
                    f"{target.endpoint.name} run a container of their own, not a Model Registry "
                    "package: no approved model card documents what they serve"
                ),
            )
        packages: dict[str, ModelPackage] = {}
        for name in served.names:
            for package in describe_model(ctx, name).packages:
                packages.setdefault(package.arn or package.name, package)
        if not packages:
            return target.cap(
                self,
                self.failed(
                    f"endpoint {target.endpoint.name} runs no Model Registry package (its models "
                    f"{', '.join(served.names) or 'none'} name no ModelPackageName): no "
                    "approved model card documents what it serves"
                ),
            )
        card_name = ctx.config.model_card
        if card_name:
            card = describe_model_card(ctx, card_name)
            result = evaluate_card(self, card.name, card.status, card.processing, card.package_arn,
                                   list(packages.values()))  # fmt: skip
        else:
            statuses = {key: package_card_status(p.raw, p.name) for key, p in packages.items()}
            result = evaluate_registered(self, packages, statuses)
        return target.cap(self, result)


def evaluate_card(
    check: Check,
    name: str,
    status: str,
    processing: str,
    package_arn: str,
    packages: Sequence[ModelPackage],
) -> CheckResult:
    problems = []
    evidence = {
        "modelCard": name,
        "ModelCardStatus": status,
        "model_package_arn": package_arn,
        "modelPackages": [p.arn or p.name for p in packages],
    }
    if status != "Approved":
        problems.append(f"model card {name} is {status}, not Approved")
    if processing:
        problems.append(
            f"model card {name} is being deleted (ModelCardProcessingStatus {processing})"
        )
    # A package whose ARN was not read is never "documented", not even by a card that names
    # no package either ("" == "").
    unnamed = [p.arn or p.name for p in packages if not p.arn or package_arn != p.arn]
    if unnamed:
        shown = package_arn or "no model_package_details.model_package_arn"
        problems.append(
            f"model card {name} documents {shown}, not the package version(s) the endpoint runs "
            f"({', '.join(unnamed)})"
        )
    if problems:
        return check.failed("; ".join(problems), evidence=evidence)
    return check.passed(
        f"model card {name} is Approved and documents {package_arn}", evidence=evidence
    )


def evaluate_registered(
    check: Check, packages: dict[str, ModelPackage], statuses: dict[str, str]
) -> CheckResult:
    problems = []
    lines = []
    for key in packages:
        status = statuses.get(key, "")
        lines.append(f"model package {key}: model card {status or 'none'}")
        if not status:
            problems.append(
                f"model package {key} has no model card (pass a standalone one with --model-card)"
            )
        elif status != "Approved":
            problems.append(f"model package {key} has a model card that is {status}, not Approved")
    evidence = {"modelPackages": lines}
    if problems:
        return check.failed("; ".join(problems), details=lines, evidence=evidence)
    return check.passed(
        f"{len(packages)} model package(s) with an Approved model card",
        details=lines,
        evidence=evidence,
    )

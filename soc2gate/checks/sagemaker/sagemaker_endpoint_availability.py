"""sagemaker-endpoint-availability: every production variant survives the loss of an instance.

Judged on the endpoint once InService and settled (see
``sagemaker_endpoint_status.endpoint_target``): each production variant's CurrentInstanceCount
and DesiredInstanceCount (DescribeEndpoint) and the InitialInstanceCount of the config it runs
(what Security Hub's SageMaker.4 reads) are at least --min-instances (default 2: with one
instance, losing it or its Availability Zone stops the variant until SageMaker replaces it);
managed instance scaling (ManagedInstanceScaling ENABLED) must not scale below it either. With
--require-autoscaling, Application Auto Scaling must have a scalable target registered for
each variant (sagemaker:variant:DesiredInstanceCount) whose MinCapacity is at least that.

Serverless variants have no instance count (AWS runs them across Availability Zones): they are
named "not applicable"; an endpoint of only serverless variants is SKIPPED saying so. Shadow
variants answer no client and are not judged.
"""

from __future__ import annotations

from soc2gate.checks.base import CheckContext
from soc2gate.checks.sagemaker._safety import scalable_targets, variant_resource
from soc2gate.checks.sagemaker._sagemaker import endpoint_config_answer
from soc2gate.checks.sagemaker.sagemaker_endpoint_status import EndpointTargetCheck, Target
from soc2gate.models import CheckResult, Status


class SagemakerEndpointAvailability(EndpointTargetCheck):
    id = "sagemaker-endpoint-availability"
    title = "Every production variant runs on enough instances to survive one's loss"
    asserts = (
        "Every production variant of the endpoint, once InService and settled, has "
        "CurrentInstanceCount and DesiredInstanceCount, and its config's InitialInstanceCount "
        "(and managed instance scaling's MinInstanceCount), at or above --min-instances "
        "(default 2, as Security Hub's SageMaker.4); with --require-autoscaling an Application "
        "Auto Scaling target is registered for the variant with MinCapacity at or above it; "
        "serverless variants are named not applicable (an endpoint of only serverless variants "
        "is skipped as such); counts that cannot be read are an error."
    )
    remediation = (
        "Create an endpoint config whose production variants have InitialInstanceCount of at "
        "least --min-instances and update the endpoint to it; register an auto scaling target "
        "(aws application-autoscaling register-scalable-target --service-namespace sagemaker "
        "--resource-id endpoint/<endpoint>/variant/<variant> --scalable-dimension "
        "sagemaker:variant:DesiredInstanceCount --min-capacity <n> --max-capacity <m>)."
    )
    soc2 = ("A1.2",)
    default_enabled = False
    strict = True
    security_hub = ("SageMaker.4",)
    aws_config = ("sagemaker-endpoint-config-prod-instance-count",)
    beyond = (
        "reads the instances actually running and desired, not only the config's initial "
        "count; managed instance scaling minimum; the auto scaling target's minimum capacity"
    )

    def judge(self, ctx: CheckContext, target: Target) -> CheckResult:
        config = ctx.config
        minimum = config.min_instances
        endpoint = target.endpoint
        problems: list[str] = []
        unreadable: list[str] = []
        lines: list[str] = []
        counted: list[str] = []
        # The live counts are the config's only once the endpoint settled on it; before, only
        # the config is judged (a rollout's counts are the old fleet's, or still climbing).
        settled = target.ceiling is Status.PASS
        states = {s.name: s for s in endpoint.variant_states or ()} if settled else {}
        for config_name in target.config_names:
            answer = endpoint_config_answer(ctx, config_name)
            for v in answer.objs("ProductionVariants", required=True) or []:
                name = v.text("VariantName", required=True) or ""
                label = f"variant {name}"
                if v.obj("ServerlessConfig") is not None:
                    lines.append(f"{label}: serverless, instance count not applicable")
                    continue
                counted.append(name)
                initial = v.get("InitialInstanceCount", int)
                state = states.get(name)
                current = state.current_instances if state else None
                desired = state.desired_instances if state else None
                lines.append(
                    f"{label}: {current}/{desired} instance(s), InitialInstanceCount {initial}"
                )
                counts = [("InitialInstanceCount", initial)]
                if settled:
                    counts += [("CurrentInstanceCount", current), ("DesiredInstanceCount", desired)]
                for key, count in counts:
                    if count is None:
                        unreadable.append(f"could not read the {key} of {label}")
                    elif count < minimum:
                        problems.append(
                            f"{label} has {key} {count}, below --min-instances {minimum}: "
                            "losing one instance (or its Availability Zone) stops it"
                        )
                managed = v.obj("ManagedInstanceScaling")
                if managed is not None and managed.text("Status") == "ENABLED":
                    low = managed.get("MinInstanceCount", int)
                    if low is not None and low < minimum:
                        problems.append(
                            f"{label} lets managed instance scaling go down to {low} "
                            f"instance(s), below --min-instances {minimum}"
                        )
        evidence: dict[str, object] = {"minInstances": minimum, "variants": lines}
        if not counted:
            return self.skipped(
                f"not applicable: every production variant of endpoint {endpoint.name} is "
                "serverless (no instance count; AWS runs them across Availability Zones)"
            )
        if config.require_autoscaling:
            resources = [variant_resource(endpoint.name, n) for n in dict.fromkeys(counted)]
            found = scalable_targets(ctx, resources)
            evidence["scalableTargets"] = found
            for resource in resources:
                low = found.get(resource)
                if low is None:
                    problems.append(
                        f"no Application Auto Scaling target is registered for {resource} "
                        "(--require-autoscaling)"
                    )
                else:
                    lines.append(f"{resource}: auto scaling MinCapacity {low}")
                    if low < minimum:
                        problems.append(
                            f"the auto scaling target of {resource} has MinCapacity {low}, "
                            f"below --min-instances {minimum}: it may scale in to that"
                        )
        if problems:
            return target.cap(
                self,
                self.failed("; ".join(problems + unreadable), details=lines, evidence=evidence),
            )
        if unreadable:
            return self.error("; ".join(unreadable), details=lines, evidence=evidence)
        scaled = " with auto scaling minimums" if config.require_autoscaling else ""
        return target.cap(
            self,
            self.passed(
                f"{len(counted)} production variant(s) run at least {minimum} instance(s){scaled}",
                details=lines,
                evidence=evidence,
            ),
        )

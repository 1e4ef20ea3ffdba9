"""Fetchers for SageMaker endpoints, endpoint configs and models, as typed values.

Fail closed on the shape of an answer: a field the verdict reads that is missing, null or of
the wrong type is never replaced by a default ("" / [] / {}). Wrong types always raise
``UnreadableResponse``; a missing optional field is kept as ``None`` (or "") where a check
decides what its absence means, and raises where every reader needs it (EndpointName,
EndpointStatus, the ProductionVariants of an endpoint config, a ListModels page's Models...).
``UnreadableResponse`` is a ``soc2gate.errors.UnreadableAnswer``: the runner reports it as
ERROR "could not read the AWS answer: <operation> '<name>': <field> is ...".

Every DescribeModel, DescribeModelPackage and DescribeInferenceComponent answer is handed to
``ctx.secrets`` as soon as it arrives: its Environment values are masked in every report of the
run (``soc2gate.redaction``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from soc2gate.aws import error_code
from soc2gate.checks.base import CheckContext
from soc2gate.config import GateConfig
from soc2gate.errors import UnreadableAnswer

T = TypeVar("T")

_KIND_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


class UnreadableResponse(UnreadableAnswer):
    """A SageMaker answer lacks a field the verdict needs, or holds it with the wrong type."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class _Answer:
    """One object of an AWS answer, read strictly; ``path`` names it in error messages."""

    data: Mapping[str, Any]
    source: str  # "DescribeEndpoint 'name'"
    path: str = ""  # "" or "ProductionVariants[0]."

    def unreadable(self, key: str, problem: str) -> UnreadableResponse:
        return UnreadableResponse(f"{self.source}: {self.path}{key} {problem}")

    def get(self, key: str, kind: type[T], *, required: bool = False) -> T | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.unreadable(key, "is missing" if key not in self.data else "is null")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.unreadable(key, f"is {_kind(value)}, not {_KIND_NAMES.get(kind, kind)}")
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        return self.get(key, str, required=required)

    def obj(self, key: str, *, required: bool = False) -> _Answer | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Answer(value, self.source, f"{self.path}{key}.")

    def objs(self, key: str, *, required: bool = False) -> list[_Answer] | None:
        """A list of objects; an entry that is not an object (null, a string...) raises."""
        items = self.get(key, list, required=required)
        if items is None:
            return None
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.unreadable(f"{key}[{i}]", f"is {_kind(item)}, not an object")
            out.append(_Answer(item, self.source, f"{self.path}{key}[{i}]."))
        return out


def _answer(resp: Any, operation: str, subject: str) -> _Answer:
    source = f"{operation} {subject!r}" if subject else operation
    if not isinstance(resp, Mapping):
        raise UnreadableResponse(f"{source}: the answer is {_kind(resp)}")
    return _Answer(resp, source)


def endpoint_unconfigured(config: GateConfig) -> str | None:
    """Why checks of the endpoint are skipped (None when --endpoint is given)."""
    return None if config.endpoint else "not configured: no --endpoint given"


@dataclass(frozen=True)
class VariantState:
    """What DescribeEndpoint says about one production or shadow variant's rollout.

    ``None`` means DescribeEndpoint did not report the field; whether that matters is
    decided by ``sagemaker_endpoint_status.judge_endpoint``.
    """

    name: str  # "AllTraffic", or "shadow Canary"
    current_instances: int | None = None
    desired_instances: int | None = None
    #: CurrentServerlessConfig / DesiredServerlessConfig as sorted (key, value) pairs.
    current_serverless: tuple[tuple[str, Any], ...] | None = None
    desired_serverless: tuple[tuple[str, Any], ...] | None = None
    #: VariantStatus entries: (Status, StatusMessage). Empty when the variant is settled.
    statuses: tuple[tuple[str, str], ...] = ()

    @property
    def serverless(self) -> bool:
        return self.current_serverless is not None or self.desired_serverless is not None


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str
    #: AWS's FailureReason with surrounding whitespace trimmed ("" when there is none).
    failure_reason: str
    #: "" when DescribeEndpoint did not report one (checks that need it say "could not read").
    config_name: str
    pending_config_name: str
    creation_time: str
    last_modified_time: str
    deployed_images: tuple[tuple[str, str, str], ...]  # (variant, specified, resolved)
    #: Every production and shadow variant the endpoint reports ("shadow " before a shadow's).
    variants: tuple[str, ...] = ()
    #: The rollout state of each variant; None when DescribeEndpoint reported no
    #: ProductionVariants at all.
    variant_states: tuple[VariantState, ...] | None = None
    #: The whole answer, for the checks that read more of it (LastDeploymentConfig): each
    #: reads what it judges strictly itself, so a field one check does not read never makes
    #: another one an error.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _instant(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float("-inf")


def is_endpoint_missing(exc: BaseException) -> bool:
    # SageMaker answers a missing endpoint with ValidationException "Could not find endpoint".
    return error_code(exc) == "ValidationException" and "could not find" in str(exc).lower()


def _serverless(variant: _Answer, key: str) -> tuple[tuple[str, Any], ...] | None:
    config = variant.get(key, dict)
    return None if config is None else tuple(sorted(config.items()))


def _variant_state(prefix: str, variant: _Answer) -> VariantState:
    statuses = []
    for entry in variant.objs("VariantStatus") or []:
        statuses.append(
            (entry.text("Status", required=True) or "", entry.text("StatusMessage") or "")
        )
    current = variant.get("CurrentInstanceCount", int)
    desired = variant.get("DesiredInstanceCount", int)
    for key, count in (("CurrentInstanceCount", current), ("DesiredInstanceCount", desired)):
        if count is not None and count < 0:
            raise variant.unreadable(key, f"is {count}, below 0")
    return VariantState(
        name=prefix + (variant.text("VariantName", required=True) or ""),
        current_instances=current,
        desired_instances=desired,
        current_serverless=_serverless(variant, "CurrentServerlessConfig"),
        desired_serverless=_serverless(variant, "DesiredServerlessConfig"),
        statuses=tuple(statuses),
    )


def parse_endpoint(resp: Any, name: str = "") -> Endpoint:
    """A DescribeEndpoint answer as an ``Endpoint``; ``UnreadableResponse`` when it can't be."""
    answer = _answer(resp, "DescribeEndpoint", name)
    states: list[VariantState] = []
    images: list[tuple[str, str, str]] = []
    production = answer.objs("ProductionVariants")
    # Shadow variants serve a copy of live traffic with their own images: they count too.
    for prefix, variants in (
        ("", production),
        ("shadow ", answer.objs("ShadowProductionVariants")),
    ):
        for variant in variants or []:
            state = _variant_state(prefix, variant)
            states.append(state)
            for image in variant.objs("DeployedImages") or []:
                images.append(
                    (
                        state.name,
                        image.text("SpecifiedImage") or "",
                        image.text("ResolvedImage") or "",
                    )
                )
    pending = answer.obj("PendingDeploymentSummary")
    return Endpoint(
        name=answer.text("EndpointName", required=True) or "",
        arn=answer.text("EndpointArn") or "",
        status=answer.text("EndpointStatus", required=True) or "",
        failure_reason=(answer.text("FailureReason") or "").strip(),
        config_name=answer.text("EndpointConfigName") or "",
        pending_config_name=(
            (pending.text("EndpointConfigName", required=True) or "") if pending else ""
        ),
        creation_time=_iso(answer.data.get("CreationTime")),
        last_modified_time=_iso(answer.data.get("LastModifiedTime")),
        deployed_images=tuple(images),
        variants=tuple(s.name for s in states),
        variant_states=None if production is None else tuple(states),
        raw=answer.data,
    )


def describe_endpoint(sagemaker: Any, name: str) -> Endpoint | None:
    """None when the endpoint does not exist (yet); other errors propagate.

    An answer that lacks EndpointName or EndpointStatus, or holds a field of the wrong type,
    raises ``UnreadableResponse``.
    """
    try:
        resp = sagemaker.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if is_endpoint_missing(exc):
            return None
        raise
    return parse_endpoint(resp, name)


@dataclass(frozen=True)
class Variant:
    name: str
    #: "" when the variant names no model (inference components, which the gate does not read).
    model_name: str
    #: "" when the variant reports no InstanceType (serverless and instance-pool variants).
    instance_type: str
    serverless: bool
    pool_types: tuple[str, ...]
    shadow: bool


#: Graviton (AWS arm64) instance families: a generation digit followed by "g" (ml.c7g,
#: ml.m6g, ml.r6gd, ml.c6gn, ml.g5g...); ml.g5 / ml.g4dn (GPU, x86) do not match.
_GRAVITON = re.compile(r"^ml\.[a-z]+[0-9]+g[a-z]*\.")


def instance_architecture(instance_type: str) -> str:
    """ "arm64" for a Graviton instance type, "amd64" for the others."""
    return "arm64" if _GRAVITON.match(instance_type) else "amd64"


def variant_architecture(variant: Variant) -> str:
    """The CPU architecture a variant runs its containers on; ValueError when it cannot tell.

    Serverless inference runs on x86_64 only (SageMaker offers no arm64 serverless), so a
    serverless variant is amd64. Instance-pool variants must agree on one architecture.
    """
    if variant.serverless:
        return "amd64"
    types = list(variant.pool_types) or ([variant.instance_type] if variant.instance_type else [])
    if not types:
        raise ValueError("the variant reports no InstanceType")
    arches = {instance_architecture(t) for t in types}
    if len(arches) > 1:
        raise ValueError(f"the instance pool mixes architectures ({', '.join(types)})")
    return arches.pop()


def endpoint_config_answer(ctx: CheckContext, name: str) -> _Answer:
    """The DescribeEndpointConfig answer for ``name``, memoised (configs are immutable): each
    check reads the members it judges strictly from it."""

    def fetch() -> _Answer:
        resp = ctx.clients("sagemaker").describe_endpoint_config(EndpointConfigName=name)
        return _answer(resp, "DescribeEndpointConfig", name)

    answer: _Answer = ctx.memo(("endpoint-config", name), fetch)
    return answer


def describe_endpoint_config(ctx: CheckContext, name: str) -> tuple[Variant, ...]:
    """Variants (production and shadow) of an endpoint config (its answer is memoised).

    ProductionVariants is required: an answer without it raises ``UnreadableResponse``.
    """
    answer = endpoint_config_answer(ctx, name)
    out = []
    for shadow, key in ((False, "ProductionVariants"), (True, "ShadowProductionVariants")):
        for v in answer.objs(key, required=not shadow) or []:
            out.append(
                Variant(
                    name=v.text("VariantName", required=True) or "",
                    model_name=v.text("ModelName") or "",
                    instance_type=v.text("InstanceType") or "",
                    serverless=v.obj("ServerlessConfig") is not None,
                    pool_types=tuple(
                        p.text("InstanceType", required=True) or ""
                        for p in v.objs("InstancePools") or []
                    ),
                    shadow=shadow,
                )
            )
    return tuple(out)


def current_config_names(endpoint: Endpoint) -> tuple[str, ...]:
    """The config serving now and, during an update, the one about to serve."""
    names = [endpoint.config_name, endpoint.pending_config_name]
    return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class ContainerEnv:
    where: str  # "PrimaryContainer", "Containers[1]", "PrimaryContainer package P Containers[0]"
    image: str
    #: Empty when AWS reported none (it omits an empty Environment).
    environment: dict[str, str]
    #: The Model Registry package this container comes from (ModelPackageName), else "".
    package: str = ""
    #: Keys the model container and its model package both set, to different values: which one
    #: serves depends on a precedence the API reference does not state, so a required key
    #: among them never passes. Only the key names: the values may be secrets.
    conflicts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelPackage:
    """What DescribeModelPackage says about a Model Registry package a model deploys."""

    name: str  # as the model names it (name or ARN)
    arn: str
    #: ModelApprovalStatus (Approved, Rejected, PendingManualApproval); "" when not reported
    #: (an unversioned package has none).
    approval: str
    status: str  # ModelPackageStatus
    containers: tuple[tuple[str, dict[str, str]], ...]  # (Image, Environment)
    #: AdditionalInferenceSpecifications (e.g. SageMaker Neo's compiled artifacts), by Name: a
    #: model container naming one (InferenceSpecificationName) runs its containers instead.
    additional: tuple[tuple[str, tuple[tuple[str, dict[str, str]], ...]], ...] = ()
    #: The DescribeModelPackage answer, for the checks that read more of it (ModelCard).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def containers_for(self, spec_name: str) -> tuple[tuple[str, dict[str, str]], ...]:
        """The containers a model container naming ``spec_name`` ("" for none) runs."""
        if not spec_name:
            return self.containers
        for name, containers in self.additional:
            if name == spec_name:
                return containers
        raise UnreadableResponse(
            f"DescribeModelPackage {self.name!r}: the model names inference specification "
            f"{spec_name!r} (InferenceSpecificationName), which the package's "
            "AdditionalInferenceSpecifications do not list"
        )


@dataclass(frozen=True)
class Model:
    name: str
    arn: str
    containers: tuple[ContainerEnv, ...]
    packages: tuple[ModelPackage, ...] = ()
    #: The DescribeModel answer (empty for an inference component's own container), for the
    #: checks that read more of it (EnableNetworkIsolation, VpcConfig, ImageConfig).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _environment(container: _Answer) -> dict[str, str]:
    """A container's Environment. AWS omits the member when it is empty (the API reference
    marks it optional, and a container created without variables is answered without it): a
    missing Environment is empty, so the markers are missing. Present but null, or holding
    anything but strings, is an answer that could not be read."""
    if "Environment" not in container.data:
        return {}
    environment = container.get("Environment", dict, required=True)
    assert environment is not None
    for key, value in environment.items():
        # Neither the key nor the value is named: model environments hold secrets.
        if not isinstance(key, str) or not isinstance(value, str):
            bad = key if not isinstance(key, str) else value
            raise container.unreadable("Environment", f"holds {_kind(bad)}, not a string")
    return dict(environment)


def _container(where: str, container: _Answer) -> ContainerEnv:
    return ContainerEnv(where, container.text("Image") or "", _environment(container))


def describe_model_package(ctx: CheckContext, name: str) -> ModelPackage:
    """DescribeModelPackage, memoised (a package version's containers cannot change).

    InferenceSpecification and its Containers are required: a package without them names no
    image to judge (``UnreadableResponse``).
    """

    def containers(spec: _Answer) -> tuple[tuple[str, dict[str, str]], ...]:
        found = spec.objs("Containers", required=True) or []
        if not found:
            raise spec.unreadable("Containers", "is empty")
        return tuple((c.text("Image") or "", _environment(c)) for c in found)

    def fetch() -> ModelPackage:
        resp = ctx.clients("sagemaker").describe_model_package(ModelPackageName=name)
        ctx.secrets.add_answer(resp, ctx.config.require_env)  # before it is read, come what may
        answer = _answer(resp, "DescribeModelPackage", name)
        spec = answer.obj("InferenceSpecification", required=True)
        assert spec is not None
        return ModelPackage(
            name=name,
            arn=answer.text("ModelPackageArn") or "",
            approval=answer.text("ModelApprovalStatus") or "",
            # Required in the answer; judged under --require-model-approval (Completed).
            status=answer.text("ModelPackageStatus", required=True) or "",
            containers=containers(spec),
            additional=tuple(
                (extra.text("Name", required=True) or "", containers(extra))
                for extra in answer.objs("AdditionalInferenceSpecifications") or []
            ),
            raw=answer.data,
        )

    return ctx.memo(("model-package", name), fetch)


def _package_containers(
    where: str, own: dict[str, str], package: ModelPackage, spec_name: str = ""
) -> list[ContainerEnv]:
    """A model container naming a ModelPackageName runs the package's containers: those of
    its InferenceSpecification, or of the additional one it names (``spec_name``).

    Their Environment is the package container's merged with the model container's own (the
    model's keys added over the package's). A key both set to different values is recorded in
    ``conflicts``. Either may be empty (AWS omits an empty Environment).
    """
    out = []
    for i, (image, env) in enumerate(package.containers_for(spec_name)):
        merged = {**env, **own}
        conflicts = frozenset(k for k in env.keys() & own.keys() if env[k] != own[k])
        out.append(
            ContainerEnv(
                f"{where} model package {package.name} "
                + (f"{spec_name} " if spec_name else "")
                + f"Containers[{i}]",
                image,
                merged,
                package=package.name,
                conflicts=conflicts,
            )
        )
    return out


def describe_model(ctx: CheckContext, name: str) -> Model:
    def fetch() -> Model:
        resp = ctx.clients("sagemaker").describe_model(ModelName=name)
        ctx.secrets.add_answer(resp, ctx.config.require_env)  # before it is read, come what may
        answer = _answer(resp, "DescribeModel", name)
        containers: list[ContainerEnv] = []
        packages: list[ModelPackage] = []
        found: list[tuple[str, _Answer]] = []
        primary = answer.obj("PrimaryContainer")
        if primary is not None:
            found.append(("PrimaryContainer", primary))
        for i, c in enumerate(answer.objs("Containers") or []):
            found.append((f"Containers[{i}]", c))
        for where, container in found:
            package_name = container.text("ModelPackageName")
            if package_name:
                package = describe_model_package(ctx, package_name)
                packages.append(package)
                spec_name = container.text("InferenceSpecificationName") or ""
                own_image = container.text("Image") or ""
                images = sorted({image for image, _ in package.containers_for(spec_name)})
                if own_image and own_image not in images:
                    # Not a shape AWS documents: which of the two serves cannot be told.
                    raise container.unreadable(
                        "Image",
                        f"names {own_image} beside ModelPackageName {package_name}, whose "
                        f"containers run {', '.join(images)}: which one serves cannot be told",
                    )
                containers += _package_containers(
                    where, _environment(container), package, spec_name
                )
            else:
                containers.append(_container(where, container))
        return Model(
            name=answer.text("ModelName", required=True) or "",
            arn=answer.text("ModelArn") or "",
            containers=tuple(containers),
            packages=tuple(packages),
            raw=answer.data,
        )

    return ctx.memo(("model", name), fetch)


def newest_model_containing(sagemaker: Any, text: str) -> tuple[str | None, int]:
    """(newest model whose name contains text, how many matched).

    NameContains and SortBy are passed to AWS to cut the pages, but the filter and the sort are
    done here again: some implementations (moto among them) ignore both. A page without Models,
    or a model without ModelName or CreationTime, raises ``UnreadableResponse``: "newest" cannot
    be told without them.
    """
    matches: list[tuple[Any, str]] = []
    paginator = sagemaker.get_paginator("list_models")
    for page in paginator.paginate(
        NameContains=text, SortBy="CreationTime", SortOrder="Descending"
    ):
        for m in _answer(page, "ListModels", "").objs("Models", required=True) or []:
            name = m.text("ModelName", required=True) or ""
            if text in name:
                created = m.data.get("CreationTime")
                if created is None:
                    raise m.unreadable("CreationTime", "is missing")
                if not hasattr(created, "timestamp"):
                    raise m.unreadable("CreationTime", f"is {_kind(created)}, not a timestamp")
                matches.append((created, name))
    if not matches:
        return None, 0
    # Compare instants, not ISO strings: botocore returns CreationTime in the local time zone,
    # whose UTC offset changes across DST, so string order is not time order.
    matches.sort(key=lambda item: (_instant(item[0]), item[1]), reverse=True)
    return matches[0][1], len(matches)


def endpoint_models(ctx: CheckContext, endpoint: Endpoint) -> tuple[Model, ...]:
    """The models behind the endpoint's current (and pending) config, each once, in order."""
    names = dict.fromkeys(
        v.model_name
        for config_name in current_config_names(endpoint)
        for v in describe_endpoint_config(ctx, config_name)
        if v.model_name
    )
    return tuple(describe_model(ctx, name) for name in names)


@dataclass(frozen=True)
class InferenceComponent:
    """What DescribeInferenceComponent says about one component an endpoint variant serves."""

    name: str
    arn: str
    variant: str
    #: InferenceComponentStatus: InService, Creating, Updating, Failed, Deleting.
    status: str
    failure_reason: str
    #: Specification.ModelName: the model whose containers the component runs ("" if none).
    model_name: str
    #: Specification.Container (image = DeployedImage.SpecifiedImage), None when absent.
    container: ContainerEnv | None
    #: Specification.Container.DeployedImage: what SageMaker resolved ("" until it has).
    specified_image: str
    resolved_image: str
    #: Specification.BaseInferenceComponentName: the component an adapter runs inside ("").
    base: str = ""
    #: The whole answer, for the checks that read more of it (LastDeploymentConfig).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _component(resp: Any, name: str) -> InferenceComponent:
    answer = _answer(resp, "DescribeInferenceComponent", name)
    several = answer.get("Specifications", list)
    if several:
        # A component created with several specifications reports one per instance type (and
        # no Specification), each with its own model, image and Environment.
        raise answer.unreadable(
            "Specifications",
            f"lists {len(several)} specification(s), one per instance type: this gate reads "
            "a component's one Specification and cannot tell which of them serves",
        )
    spec = answer.obj("Specification", required=True)
    assert spec is not None  # required=True raised otherwise
    container = spec.obj("Container")
    deployed = container.obj("DeployedImage") if container is not None else None
    specified = (deployed.text("SpecifiedImage") or "") if deployed is not None else ""
    resolved = (deployed.text("ResolvedImage") or "") if deployed is not None else ""
    model_name = spec.text("ModelName") or ""
    if container is None and not model_name:
        raise spec.unreadable("ModelName", "and Container are both missing")
    return InferenceComponent(
        name=answer.text("InferenceComponentName", required=True) or "",
        arn=answer.text("InferenceComponentArn") or "",
        variant=answer.text("VariantName", required=True) or "",
        status=answer.text("InferenceComponentStatus", required=True) or "",
        failure_reason=(answer.text("FailureReason") or "").strip(),
        model_name=model_name,
        container=(
            None
            if container is None
            else ContainerEnv(
                "Specification.Container", specified or resolved, _environment(container)
            )
        ),
        specified_image=specified,
        resolved_image=resolved,
        base=spec.text("BaseInferenceComponentName") or "",
        raw=answer.data,
    )


def endpoint_components(ctx: CheckContext, endpoint_name: str) -> tuple[InferenceComponent, ...]:
    """Every inference component on the endpoint (ListInferenceComponents EndpointNameEquals,
    all pages, then DescribeInferenceComponent each). Not memoised: components roll out while
    the gate waits. A page without InferenceComponents, or an adapter component whose base
    component is not listed on the endpoint (it runs inside it), raises ``UnreadableResponse``."""
    sagemaker = ctx.clients("sagemaker")
    names: list[str] = []
    for page in sagemaker.get_paginator("list_inference_components").paginate(
        EndpointNameEquals=endpoint_name
    ):
        answer = _answer(page, "ListInferenceComponents", endpoint_name)
        for summary in answer.objs("InferenceComponents", required=True) or []:
            if summary.text("EndpointName") not in (None, endpoint_name):
                continue  # an implementation that ignores the filter
            names.append(summary.text("InferenceComponentName", required=True) or "")
    components_list = []
    for name in dict.fromkeys(names):
        resp = sagemaker.describe_inference_component(InferenceComponentName=name)
        ctx.secrets.add_answer(resp, ctx.config.require_env)
        components_list.append(_component(resp, name))
    components = tuple(components_list)
    for c in components:
        if c.base and c.base not in names:
            raise UnreadableResponse(
                f"DescribeInferenceComponent {c.name!r}: Specification.BaseInferenceComponentName "
                f"names base inference component {c.base!r}, which ListInferenceComponents does "
                f"not list on endpoint {endpoint_name!r}: the adapter runs inside it, unjudged"
            )
    return components


def component_variants(ctx: CheckContext, endpoint: Endpoint) -> dict[str, list[str]]:
    """Variants of the endpoint's current (and pending) config that name no model, which
    serve inference components: variant name -> the "<config>/<variant>" labels."""
    out: dict[str, list[str]] = {}
    for config_name in current_config_names(endpoint):
        for v in describe_endpoint_config(ctx, config_name):
            if not v.model_name:
                out.setdefault(v.name, []).append(f"{config_name}/{v.name}")
    return out


@dataclass(frozen=True)
class ServedModels:
    """What an endpoint's config(s) run: the models of their variants and of the endpoint's
    inference components, and the components that name no model (their own container)."""

    #: Model names, in the order first met, once each.
    names: tuple[str, ...]
    #: The configs whose variants name no model (they serve inference components).
    component_configs: tuple[str, ...]
    #: Inference components that name no model.
    bare_components: tuple[str, ...]


def served_models(
    ctx: CheckContext, endpoint_name: str, config_names: Sequence[str]
) -> ServedModels | str:
    """The models behind ``config_names`` of ``endpoint_name``; a reason (str) when it cannot
    be told what runs there: never "nothing runs", which would judge nothing and pass."""
    names: list[str] = []
    component_configs: list[str] = []
    for config_name in config_names:
        for variant in describe_endpoint_config(ctx, config_name):
            if variant.model_name:
                names.append(variant.model_name)
            elif config_name not in component_configs:
                component_configs.append(config_name)
    bare: list[str] = []
    if component_configs:
        components = endpoint_components(ctx, endpoint_name)
        if not components:
            return (
                f"endpoint config(s) {', '.join(component_configs)} have variants that name no "
                "model and the endpoint serves no inference component: could not tell what "
                "runs there"
            )
        names += [c.model_name for c in components if c.model_name]
        bare = [c.name for c in components if not c.model_name]
    if not names and not bare:
        return (
            f"endpoint config(s) {', '.join(config_names)} name no model and no inference "
            "component: could not tell what runs there"
        )
    return ServedModels(tuple(dict.fromkeys(names)), tuple(component_configs), tuple(bare))

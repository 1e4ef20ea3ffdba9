"""Patches to moto's ECR, SageMaker and KMS handlers so a world answers as AWS does.

moto's answers differ from AWS's where the gate looks: ECR scans are canned, DescribeImages has
no scan fields and reports the config blob's size, GetDownloadUrlForLayer is missing; SageMaker
ListModels ignores every parameter, the List* calls sort ascending by default, Describe* calls
answer ``{}`` for absent structures, and instance types newer than 2019 or variants without a
model (inference components) are refused. Each patch below says which gap it fills.

KMS GetPublicKey answers the key ARN, as AWS does, whether a world is active or not. The other
patches are process-wide, installed once (``install``) and inert unless a world is active:
moto's backends are process-global too, so one world runs at a time (``activate`` /
``deactivate``), and the patches read it through ``active_world``. They see the world only as
a ``PatchedWorld`` (what they read of a ``MotoWorld``), so this module never imports world.py.
moto is imported only inside the functions here, when a world starts.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from soc2gate.demo.images import PushedImage
from soc2gate.demo.scans import (
    ScanScript,
    render_basic,
    render_enhanced,
    scan_status,
    scan_summary,
)


class PatchedWorld(Protocol):
    """What the patches read of the active world (a ``MotoWorld``)."""

    account_id: str
    region: str
    _pushed: dict[tuple[str, str], PushedImage]
    _blobs: dict[str, bytes]
    _deployment_configs: dict[str, dict[str, Any]]

    @property
    def endpoint_url(self) -> str: ...

    def scan_script(self, repo: str, digest: str) -> ScanScript | None: ...


_ACTIVE_LOCK = threading.Lock()
_ACTIVE: PatchedWorld | None = None


def activate(world: PatchedWorld) -> None:
    """Make ``world`` the one the patches answer for (RuntimeError if another is active)."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            raise RuntimeError("another MotoWorld is running in this process")
        _ACTIVE = world


def deactivate(world: PatchedWorld) -> None:
    """The patches go inert again, if ``world`` is the active one."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is world:
            _ACTIVE = None


def active_world() -> PatchedWorld | None:
    return _ACTIVE


_PATCH_LOCK = threading.Lock()
_PATCHED = False


def install() -> None:
    """Patch moto's handlers (once per process)."""
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        _patch_ecr()
        _patch_sagemaker()
        _patch_kms()
        _PATCHED = True


def encode_token(offset: int) -> str:
    """An opaque NextToken for the page starting at ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_token(token: str) -> int:
    """The offset in a token from ``encode_token`` (ValueError, KeyError, ... if it is not one)."""
    offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(token)
    return offset


def _patch_kms() -> None:
    """KMS GetPublicKey answers the key's ARN as ``KeyId``, as AWS does (moto answers the bare
    key id). The signer needs the ARN before it signs: the signature covers it. Not tied to a
    world: it only makes moto's answer AWS's."""
    from moto.kms.responses import KmsResponse

    original = KmsResponse.get_public_key

    def get_public_key(self: Any) -> Any:
        answer = json.loads(original(self))
        key_id = self._get_param("KeyId")
        answer["KeyId"] = self.kms_backend.describe_key(key_id).arn
        return json.dumps(answer)

    KmsResponse.get_public_key = get_public_key  # type: ignore[method-assign]


def _patch_ecr() -> None:
    from moto.core.responses import ActionResult
    from moto.ecr.exceptions import InvalidParameterException, ScanNotFoundException
    from moto.ecr.models import ecr_backends
    from moto.ecr.responses import ECRResponse

    original_findings = ECRResponse.describe_image_scan_findings
    original_images = ECRResponse.describe_images
    original_backend: Any = vars(ECRResponse)["ecr_backend"]  # the property object

    def ecr_backend(self: Any) -> Any:
        # moto looks every repository up in the caller's own registry and refuses another
        # registryId. The world's registries grant reads to other accounts, as a repository
        # policy does: a call naming another registry reads that registry. Calls that take no
        # registryId (GetRegistryScanningConfiguration, ...) stay the caller's, as in AWS.
        registry_id = self._get_param("registryId")
        if active_world() is None or not isinstance(registry_id, str):
            return original_backend.fget(self)
        if registry_id.isdigit() and registry_id != self.current_account:
            return ecr_backends[registry_id][self.region]
        return original_backend.fget(self)

    def describe_image_scan_findings(self: Any) -> Any:
        # moto answers a canned scan; answer the world's script for the image, paged by
        # nextToken / maxResults as ECR pages it (an image without a script: moto's answer).
        world = active_world()
        if world is None:
            return original_findings(self)
        registry_id = self._get_param("registryId")
        repository_name = self._get_param("repositoryName")
        image_id = self._get_param("imageId") or {}
        repo = self.ecr_backend._get_repository(repository_name, registry_id)
        image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
        digest = image.get_image_digest()
        script = world.scan_script(repository_name, digest)
        if script is None:
            return original_findings(self)
        if script.not_found:
            idigest = image_id.get("imageDigest") or "null"
            itag = image_id.get("imageTag") or "null"
            raise ScanNotFoundException(
                image_id=f"{{imageDigest:'{idigest}', imageTag:'{itag}'}}",
                repository_name=repository_name,
                registry_id=repo.registry_id,
            )
        resolved_id = {"imageDigest": digest}
        if image_id.get("imageTag"):
            resolved_id["imageTag"] = image_id["imageTag"]
        result: dict[str, Any] = {
            "registryId": repo.registry_id,
            "repositoryName": repository_name,
            "imageId": resolved_id,
            "imageScanStatus": scan_status(script),
        }
        summary = scan_summary(script)
        if summary is not None and not script.populated:
            result["imageScanFindings"] = summary
        elif summary is not None:
            token = self._get_param("nextToken")
            try:
                start = decode_token(token) if token else 0
            except (ValueError, KeyError, TypeError):
                raise InvalidParameterException(
                    "Invalid parameter at 'nextToken' failed to satisfy constraint: "
                    "'Invalid pagination token'"
                ) from None
            max_results = self._get_param("maxResults")
            size = min(int(max_results), script.page_size) if max_results else script.page_size
            page = script.findings[start : start + size]
            if script.enhanced:
                pushed_at = datetime.fromtimestamp(image.image_pushed_at, timezone.utc)
                tags = list(image.image_tags)
                summary["enhancedFindings"] = [
                    render_enhanced(
                        f,
                        account_id=repo.registry_id,
                        region=self.region,
                        repo=repository_name,
                        digest=digest,
                        tags=tags,
                        pushed_at=pushed_at,
                    )
                    for f in page
                ]
            else:
                summary["findings"] = [render_basic(f) for f in page]
            result["imageScanFindings"] = summary
            if start + size < len(script.findings):
                result["nextToken"] = encode_token(start + size)
        return ActionResult(result)

    def describe_images(self: Any) -> Any:
        # moto's imageDetails carry no scan status or summary: add the world's script's.
        response = original_images(self)
        world = active_world()
        if world is None or not isinstance(response, ActionResult):
            return response
        out = []
        for image in response.result.get("imageDetails", []):  # type: ignore[attr-defined]
            digest = image.get_image_digest()
            detail: dict[str, Any] = {
                "registryId": image.registry_id,
                "repositoryName": image.repository_name,
                "imageDigest": digest,
                "imageSizeInBytes": image.image_size_in_bytes,
                "imagePushedAt": image.image_pushed_at,
                "imageManifestMediaType": image.image_manifest_media_type,
            }
            if getattr(image, "image_tags", None):
                detail["imageTags"] = list(image.image_tags)
            pushed = world._pushed.get((image.repository_name, digest))
            if pushed is not None:
                # moto reports the config blob's size; ECR reports the layers' total.
                detail["imageSizeInBytes"] = sum(lay["size"] for lay in pushed.manifest["layers"])
                detail["artifactMediaType"] = pushed.manifest["config"]["mediaType"]
            script = world.scan_script(image.repository_name, digest)
            if script is not None and not script.not_found:
                detail["imageScanStatus"] = scan_status(script)
                summary = scan_summary(script)
                if summary is not None:
                    detail["imageScanFindingsSummary"] = summary
            out.append(detail)
        return ActionResult({"imageDetails": out})

    def get_download_url_for_layer(self: Any) -> Any:
        # moto raises NotImplementedError; hand out a URL on the world's server for the blobs
        # it pushed (``soc2gate.demo.server`` serves them).
        world = active_world()
        repository_name = self._get_param("repositoryName")
        digest = self._get_param("layerDigest")
        self.ecr_backend._get_repository(repository_name, self._get_param("registryId"))
        if world is None or digest not in world._blobs:
            # A moto.core ServiceException here would break moto's error serializer (it derives
            # the service from the exception's module), so answer with the JSON error directly.
            body = {
                "__type": "LayersNotFoundException",
                "message": f"The specified layers could not be found: {digest}",
            }
            return json.dumps(body), {"status": 400}
        return ActionResult(
            {"downloadUrl": f"{world.endpoint_url}/_soc2gate/blobs/{digest}", "layerDigest": digest}
        )

    ECRResponse.ecr_backend = property(ecr_backend)  # type: ignore[assignment,method-assign]
    ECRResponse.describe_image_scan_findings = describe_image_scan_findings  # type: ignore[method-assign]
    ECRResponse.describe_images = describe_images  # type: ignore[method-assign]
    ECRResponse.get_download_url_for_layer = get_download_url_for_layer  # type: ignore[method-assign]


def _patch_sagemaker() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    original_list_models = SageMakerResponse.list_models
    original_list_configs = SageMakerResponse.list_endpoint_configs
    original_list_endpoints = SageMakerResponse.list_endpoints

    def list_models(self: Any) -> Any:
        # moto ignores every ListModels parameter; AWS sorts by CreationTime, Descending.
        if active_world() is None:
            return original_list_models(self)
        models = list(self.sagemaker_backend._models.values())
        contains = self._get_param("NameContains")
        if contains:
            models = [m for m in models if contains in m.model_name]
        before = self._get_param("CreationTimeBefore")
        after = self._get_param("CreationTimeAfter")
        if before:
            models = [m for m in models if m.creation_time < before]
        if after:
            models = [m for m in models if m.creation_time > after]
        reverse = (self._get_param("SortOrder") or "Descending") == "Descending"
        if self._get_param("SortBy") == "Name":
            models.sort(key=lambda m: m.model_name, reverse=reverse)
        else:
            models.sort(key=lambda m: m.creation_time, reverse=reverse)
        token = self._get_param("NextToken")
        start = decode_token(token) if token else 0
        max_results = self._get_param("MaxResults")
        end = start + int(max_results) if max_results else len(models)
        result: dict[str, Any] = {
            "Models": [
                {"ModelName": m.model_name, "ModelArn": m.arn, "CreationTime": m.creation_time}
                for m in models[start:end]
            ]
        }
        if end < len(models):
            result["NextToken"] = encode_token(end)
        return ActionResult(result)

    def descending_by_default(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # moto sorts ascending when SortOrder is absent; AWS defaults to Descending.
        def wrapper(self: Any) -> Any:
            if active_world() is not None and isinstance(self.params, dict):
                self.params.setdefault("SortOrder", "Descending")
            return original(self)

        wrapper.__name__ = original.__name__
        return wrapper

    def drop_empty_structures(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # moto answers e.g. DataCaptureConfig: {} / VpcConfig: {} / PrimaryContainer: {} when
        # there is none; those shapes have required members, so AWS leaves the key out.
        def wrapper(self: Any) -> Any:
            response = original(self)
            result = getattr(response, "result", None)
            if active_world() is not None and isinstance(result, dict):
                for key in [k for k, v in result.items() if v == {}]:
                    del result[key]
            return response

        wrapper.__name__ = original.__name__
        return wrapper

    def with_deployment_config(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # moto's DescribeEndpoint has no LastDeploymentConfig: answer the world's
        # (``EndpointStates.set_deployment_config``).
        def wrapper(self: Any) -> Any:
            response = original(self)
            world = active_world()
            result = getattr(response, "result", None)
            if world is not None and isinstance(result, dict):
                config = world._deployment_configs.get(str(result.get("EndpointName")))
                if config is not None:
                    result["LastDeploymentConfig"] = config
            return response

        wrapper.__name__ = original.__name__
        return wrapper

    from moto.sagemaker.models import FakeEndpointConfig

    original_validate = FakeEndpointConfig.validate_instance_type
    instance_types: set[str] = set()

    def validate_instance_type(self: Any, instance_type: str) -> None:
        # moto's list stops at 2019 (no Graviton ml.c7g, no ml.g5); AWS takes any type of the
        # service model's ProductionVariantInstanceType enum.
        if active_world() is None:
            return original_validate(self, instance_type)
        if not instance_types:
            import botocore.session

            model = botocore.session.get_session().get_service_model("sagemaker")
            instance_types.update(model.shape_for("ProductionVariantInstanceType").enum)
        if instance_type not in instance_types:
            return original_validate(self, instance_type)
        return None

    FakeEndpointConfig.validate_instance_type = validate_instance_type  # type: ignore[method-assign]

    from moto.sagemaker.models import SageMakerModelBackend

    original_variants = SageMakerModelBackend.validate_production_variants

    def validate_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
        # AWS accepts a variant without ModelName: it hosts inference components. moto
        # raises KeyError (a 500) on it.
        if active_world() is None:
            return original_variants(self, production_variants)
        return original_variants(self, [v for v in production_variants if "ModelName" in v])

    SageMakerModelBackend.validate_production_variants = validate_production_variants  # type: ignore[method-assign]
    for name in ("describe_endpoint", "describe_endpoint_config", "describe_model"):
        setattr(SageMakerResponse, name, drop_empty_structures(getattr(SageMakerResponse, name)))
    replacements = {
        "describe_endpoint": with_deployment_config(SageMakerResponse.describe_endpoint),
        "list_models": list_models,
        "list_endpoint_configs": descending_by_default(original_list_configs),
        "list_endpoints": descending_by_default(original_list_endpoints),
    }
    for name, function in replacements.items():
        setattr(SageMakerResponse, name, function)

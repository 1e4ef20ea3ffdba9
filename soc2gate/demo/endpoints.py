"""SageMaker endpoint states moto does not model, as a mixin of ``MotoWorld``.

moto makes an endpoint InService at CreateEndpoint and has no UpdateEndpoint, no
PendingDeploymentSummary, no VariantStatus, no DeployedImages and no inference components. The
gate waits on exactly those, so ``EndpointStates`` writes them into moto's SageMaker backend
(``set_endpoint``, ``set_variant``; an update started, finished or rolled back), and keeps
inference components itself, shaped like DescribeInferenceComponent in the API reference
(``soc2gate.demo.server`` answers ListInferenceComponents / DescribeInferenceComponent from
them). It is a mixin, not a helper object, so these stay ``MotoWorld`` methods that scenarios
and tests call on the world.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any


def naive_utc(ts: datetime | None = None) -> datetime:
    """moto stores naive UTC datetimes (moto.core.utils.utcnow)."""
    ts = ts or datetime.now(timezone.utc)
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


class EndpointStates:
    """Endpoint, variant and inference component states, on the world's moto backend."""

    # Set by MotoWorld.__init__.
    region: str
    account_id: str
    _lock: threading.RLock
    #: Inference components (moto has none): name -> DescribeInferenceComponent answer.
    _components: dict[str, dict[str, Any]]
    #: Endpoint name -> its LastDeploymentConfig (moto's DescribeEndpoint has none).
    _deployment_configs: dict[str, dict[str, Any]]

    def _sagemaker_backend(self) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[self.account_id][self.region]

    def set_endpoint(
        self,
        name: str,
        status: str | None = None,
        failure_reason: str | None = None,
        config_name: str | None = None,
        deployed_images: Sequence[Mapping[str, Any]]
        | Mapping[str, Sequence[Mapping[str, Any]]]
        | None = None,
        *,
        pending_config_name: str | None = None,
    ) -> None:
        """Mutate the endpoint in moto's backend (status, FailureReason, config, DeployedImages).

        ``deployed_images`` is a list for every variant or a dict variant name -> list.
        ``config_name`` switches the endpoint to that config with settled variants
        (CurrentInstanceCount == DesiredInstanceCount == the config's InitialInstanceCount, or
        the serverless config as both current and desired), as SageMaker reports an InService
        endpoint. ``pending_config_name`` sets PendingDeploymentSummary ("" removes it); any
        status other than Updating removes it too, as SageMaker does once an update ends.
        """
        backend = self._sagemaker_backend()
        with self._lock:
            endpoint = backend.endpoints[name]
            if config_name is not None:
                config = backend.endpoint_configs[config_name]
                endpoint.endpoint_config_name = config_name
                endpoint.production_variants = endpoint._process_production_variants(
                    config.production_variants
                )
            if status is not None:
                endpoint.endpoint_status = status
                if failure_reason is None and status != "Failed":
                    endpoint.failure_reason = None
                if status != "Updating" and pending_config_name is None:
                    endpoint.pending_deployment_summary = None
            if failure_reason is not None:
                endpoint.failure_reason = failure_reason
            if pending_config_name is not None:
                endpoint.pending_deployment_summary = (
                    self._pending_summary(pending_config_name) if pending_config_name else None
                )
            if deployed_images is not None:
                for pv in endpoint.production_variants:
                    images = (
                        deployed_images.get(pv["VariantName"])
                        if isinstance(deployed_images, Mapping)
                        else deployed_images
                    )
                    if images is not None:
                        pv["DeployedImages"] = [dict(i) for i in images]
            endpoint.last_modified_time = naive_utc()

    def _pending_summary(self, config_name: str) -> dict[str, Any]:
        """PendingDeploymentSummary for an update to ``config_name``: its variants starting."""
        config = self._sagemaker_backend().endpoint_configs[config_name]
        variants = []
        for pv in config.production_variants:
            variant: dict[str, Any] = {
                "VariantName": pv["VariantName"],
                "VariantStatus": [{"Status": "Creating", "StartTime": datetime.now(timezone.utc)}],
            }
            if pv.get("InstanceType"):
                variant.update(
                    InstanceType=pv["InstanceType"],
                    CurrentInstanceCount=0,
                    DesiredInstanceCount=pv.get("InitialInstanceCount") or 1,
                )
            if pv.get("ServerlessConfig"):
                variant["DesiredServerlessConfig"] = dict(pv["ServerlessConfig"])
            variants.append(variant)
        return {
            "EndpointConfigName": config_name,
            "ProductionVariants": variants,
            "StartTime": datetime.now(timezone.utc),
        }

    def set_variant(
        self,
        name: str,
        variant: str = "AllTraffic",
        *,
        current_instances: int | None = None,
        desired_instances: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> None:
        """Make one production variant of an endpoint unsettled (or settled again).

        ``current_instances`` / ``desired_instances`` set CurrentInstanceCount /
        DesiredInstanceCount (an InService endpoint scaling); ``statuses`` sets VariantStatus
        (e.g. ``["Baking"]``; ``[]`` removes it: the variant is settled).
        """
        backend = self._sagemaker_backend()
        with self._lock:
            endpoint = backend.endpoints[name]
            (pv,) = [v for v in endpoint.production_variants if v["VariantName"] == variant]
            if current_instances is not None:
                pv["CurrentInstanceCount"] = current_instances
            if desired_instances is not None:
                pv["DesiredInstanceCount"] = desired_instances
            if statuses is not None:
                if statuses:
                    pv["VariantStatus"] = [
                        {
                            "Status": s,
                            "StatusMessage": f"{s} in progress",
                            "StartTime": datetime.now(timezone.utc),
                        }
                        for s in statuses
                    ]
                else:
                    pv.pop("VariantStatus", None)
            endpoint.last_modified_time = naive_utc()

    def update_endpoint(self, name: str, config_name: str) -> None:
        """UpdateEndpoint to ``config_name``: Updating, still on the old EndpointConfigName,
        with PendingDeploymentSummary naming the new one (what SageMaker reports meanwhile)."""
        self.set_endpoint(name, status="Updating", pending_config_name=config_name)

    def finish_update(
        self,
        name: str,
        deployed_images: Sequence[Mapping[str, Any]]
        | Mapping[str, Sequence[Mapping[str, Any]]]
        | None = None,
    ) -> None:
        """The update succeeded: InService on the pending config, variants settled."""
        with self._lock:
            endpoint = self._sagemaker_backend().endpoints[name]
            summary = getattr(endpoint, "pending_deployment_summary", None)
        if not summary:
            raise ValueError(f"endpoint {name} has no update in progress")
        self.set_endpoint(
            name,
            status="InService",
            config_name=summary["EndpointConfigName"],
            deployed_images=deployed_images,
        )

    def roll_back_update(self, name: str, failure_reason: str) -> None:
        """The update failed and was rolled back: InService on the old config, with a
        FailureReason (the deployment did not happen)."""
        self.set_endpoint(name, status="InService", failure_reason=failure_reason)

    def set_deployment_config(self, name: str, config: Mapping[str, Any] | None) -> None:
        """The DeploymentConfig the endpoint's last CreateEndpoint / UpdateEndpoint named, as
        DescribeEndpoint reports it (LastDeploymentConfig); None: it named none."""
        with self._lock:
            if config is None:
                self._deployment_configs.pop(name, None)
            else:
                self._deployment_configs[name] = json.loads(json.dumps(config))

    def create_inference_component(
        self,
        name: str,
        endpoint: str,
        variant: str = "AllTraffic",
        *,
        model_name: str | None = None,
        image: str | None = None,
        env: Mapping[str, str] | None = None,
        status: str = "Creating",
        copies: int = 1,
        deployment_config: Mapping[str, Any] | None = None,
    ) -> str:
        """CreateInferenceComponent (moto has none): a component on ``endpoint``'s ``variant``
        serving ``model_name`` and/or a ``Container`` (``image`` + ``env``); returns its ARN.

        Shaped like DescribeInferenceComponent in the API reference; ``set_inference_component``
        moves it on (InService fills Container.DeployedImage, as SageMaker does)."""
        arn = (
            f"arn:aws:sagemaker:{self.region}:{self.account_id}:inference-component/{name.lower()}"
        )
        spec: dict[str, Any] = {
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 1.0,
                "MinMemoryRequiredInMb": 1024,
            }
        }
        if model_name is not None:
            spec["ModelName"] = model_name
        if image is not None:
            container: dict[str, Any] = {"DeployedImage": {"SpecifiedImage": image}}
            if env is not None:
                container["Environment"] = dict(env)
            spec["Container"] = container
        now = datetime.now(timezone.utc)
        with self._lock:
            self._components[name] = {
                "InferenceComponentName": name,
                "InferenceComponentArn": arn,
                "EndpointName": endpoint,
                "EndpointArn": (
                    f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{endpoint.lower()}"
                ),
                "VariantName": variant,
                "Specification": spec,
                "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": 0},
                "CreationTime": now,
                "LastModifiedTime": now,
                "InferenceComponentStatus": status,
            }
            if deployment_config is not None:
                self._components[name]["LastDeploymentConfig"] = json.loads(
                    json.dumps(deployment_config)
                )
        return arn

    def set_inference_component(
        self,
        name: str,
        *,
        status: str | None = None,
        deployed_image: Mapping[str, Any] | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Move an inference component on: its status, Container.DeployedImage (what SageMaker
        resolved), FailureReason. InService sets CurrentCopyCount to DesiredCopyCount."""
        with self._lock:
            component = self._components[name]
            if status is not None:
                component["InferenceComponentStatus"] = status
                runtime = component["RuntimeConfig"]
                if status == "InService":
                    runtime["CurrentCopyCount"] = runtime["DesiredCopyCount"]
            if deployed_image is not None:
                container = component["Specification"].setdefault("Container", {})
                container["DeployedImage"] = dict(deployed_image)
            if failure_reason is not None:
                component["FailureReason"] = failure_reason
            component["LastModifiedTime"] = datetime.now(timezone.utc)

    def delete_inference_component(self, name: str) -> None:
        """DeleteInferenceComponent: gone at once (SageMaker passes through Deleting)."""
        with self._lock:
            del self._components[name]

    def inference_components(self) -> dict[str, dict[str, Any]]:
        """A copy of the inference components as DescribeInferenceComponent would answer."""
        with self._lock:
            return json.loads(json.dumps(self._components, default=lambda t: t.timestamp()))

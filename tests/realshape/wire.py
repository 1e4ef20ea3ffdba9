"""Real-shape AWS answers, served to the real gate as wire bytes through botocore's before-send.

moto is not AWS (issue 10): a test layer that only ever sees moto's answers cannot catch a
fail-open on a real answer. This module answers the gate's calls with JSON written after real AWS
answers (``fixtures/``, each file says which real answer it imitates), rendered to the bytes,
status and headers the service's protocol puts on the wire. botocore's ``before-send`` event
hands them over instead of an HTTP exchange, so everything after it is the gate's production path:
the gate's ``before-parse`` hook (with its raw-JSON fast path for DescribeImageScanFindings),
botocore's parser, retries and error classes, the checks and the runner.

- ``WireWorld(scenario)``: one deployment. ``scenario`` maps ``service:Operation`` to fixture
  files (or inline fixture documents, or ``Seq`` for answers that change between polls). The
  world answers like the service would: DescribeImages by the requested tags, findings pages by
  nextToken, SageMaker describes by name (ValidationException "Could not find ..." otherwise),
  ListCoverage filtered by the request's string filters.
- ``overrides`` replace the answer to one exact request (the fuzz layer's mutations).
- An operation the scenario has no fixture for is answered with an error and recorded;
  ``assert_all_served`` then fails the test naming the call, so a new AWS call the gate starts
  making shows up as "add a fixture", never as a silent ERROR verdict.
- ``WireClients`` is the gate's own ``soc2gate.aws.AwsClients`` with the world's handler
  registered on every client it returns. Nothing is ever sent: the handler answers every call.

Nothing here replaces soc2gate code.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The guide's deployment, as the fixtures name it.
ACCOUNT = "438465156498"
REGION = "us-east-1"
REPO = "defender-image-analyzer-soc2"
REPO_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}"
COMMIT_SHA = "3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e"
TAG_TEMPLATES = ("soc2-dev-latest", "soc2-dev-{sha}", "soc2-latest")
TAGS = ("soc2-dev-latest", f"soc2-dev-{COMMIT_SHA}", "soc2-latest")
DIGEST = "sha256:6940c4e6dd25268ba2f336c8dd7c3a45382ce9c794832d934729dc40f894847e"
OTHER_DIGEST = "sha256:21fc31cc020bc458ced794ad8602e826d09eef54f208f9f398163415517bb17e"
ENDPOINT = "defenderImageAnalyzerSOC2HardenedDev"
MODEL_PREFIX = "defenderImageAnalyzerSOC2Hardened"
SAGEMAKER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
#: Where a request would go if anything ever slipped past the handler: the discard port.
LOOPBACK_DISCARD = "http://127.0.0.1:9"


def fixture(name: str) -> dict[str, Any]:
    """One fixture document: ``imitates``, ``operation`` and ``response`` / ``pages`` / ``error``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def all_fixture_names() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json"))


# ---- answers on the wire --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: a JSON body (or raw bytes) and a status; errors carry their code."""

    status: int
    body: Any = None
    error_code: str = ""
    error_message: str = ""
    message_key: str = "message"

    @classmethod
    def ok(cls, body: Any) -> Answer:
        return cls(200, copy.deepcopy(body))

    @classmethod
    def error(
        cls, code: str, message: str, status: int = 400, message_key: str = "message"
    ) -> Answer:
        return cls(status, None, code, message, message_key)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Answer:
        if "error" in doc:
            err = doc["error"]
            return cls.error(
                err["code"],
                err["message"],
                int(err.get("status", 400)),
                err.get("message_key") or "message",
            )
        return cls.ok(doc["response"])

    @property
    def is_error(self) -> bool:
        return bool(self.error_code)

    def render(self, protocol: str) -> tuple[bytes, dict[str, str]]:
        """The body bytes and headers ``protocol`` (json / rest-json) puts on the wire."""
        headers = {
            "x-amzn-RequestId": str(uuid.uuid4()),
            "Date": formatdate(usegmt=True),
            "Content-Type": "application/x-amz-json-1.1"
            if protocol == "json"
            else "application/json",
        }
        if self.is_error:
            if protocol == "json":
                data: Any = {"__type": self.error_code, self.message_key: self.error_message}
            else:  # rest-json: the code travels in a header, the body holds the message
                headers["x-amzn-ErrorType"] = f"{self.error_code}:http://internal.amazon.com/coral/"
                data = {self.message_key: self.error_message}
            body = json.dumps(data, separators=(",", ":")).encode()
        elif isinstance(self.body, (bytes, bytearray)):
            body = bytes(self.body)
        else:
            body = json.dumps(self.body, separators=(",", ":")).encode()
        headers["Content-Length"] = str(len(body))
        return body, headers


class _RawBody:
    """What AWSResponse reads its content from (urllib3's ``stream()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


# ---- scenarios ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seq:
    """Answers that change between polls: the n-th call *from one thread* (one check) gets item
    n, the last one repeats. Per thread, so which check sees which answer does not depend on
    how the threads happen to interleave."""

    items: tuple[Any, ...]

    def __init__(self, *items: Any) -> None:
        object.__setattr__(self, "items", tuple(items))


Spec = Any  # a fixture file name, an inline fixture document, a Seq, or a list of those
Scenario = Mapping[str, Spec]


def _as_doc(spec: Any) -> dict[str, Any]:
    return fixture(spec) if isinstance(spec, str) else spec


GUIDE_BASIC: dict[str, Spec] = {
    "ecr:DescribeRepositories": "ecr/DescribeRepositories.guide.json",
    "ecr:GetRegistryScanningConfiguration": "ecr/GetRegistryScanningConfiguration.basic-no-rules.json",
    "ecr:BatchGetRepositoryScanningConfiguration": (
        "ecr/BatchGetRepositoryScanningConfiguration.scan-on-push.json"
    ),
    "ecr:DescribeImages": "ecr/DescribeImages.guide.json",
    "ecr:DescribeImageScanFindings": "ecr/DescribeImageScanFindings.basic-two-pages-clean.json",
    "sagemaker:DescribeEndpoint": "sagemaker/DescribeEndpoint.guide-inservice.json",
    "sagemaker:DescribeEndpointConfig": "sagemaker/DescribeEndpointConfig.guide.json",
    "sagemaker:DescribeModel": ["sagemaker/DescribeModel.guide.json"],
    "sagemaker:ListModels": "sagemaker/ListModels.guide.json",
    # Asked only when a variant names no model (a mutation can make it so): no components.
    "sagemaker:ListInferenceComponents": "sagemaker/ListInferenceComponents.none.json",
    # Asked only when a mutation gives a container a ModelPackageName: none exists.
    "sagemaker:DescribeModelPackage": "sagemaker/DescribeModelPackage.none.json",
    "logs:DescribeLogStreams": "logs/DescribeLogStreams.no-log-group.json",
    # BASIC scanning: Amazon Inspector has no coverage record of the image.
    "inspector2:ListCoverage": "inspector2/ListCoverage.empty.json",
}
"""The guide's deployment under BASIC scanning, settled and compliant: the gate must PASS."""

GUIDE_ENHANCED: dict[str, Spec] = {
    **GUIDE_BASIC,
    "ecr:GetRegistryScanningConfiguration": (
        "ecr/GetRegistryScanningConfiguration.enhanced-continuous.json"
    ),
    "ecr:BatchGetRepositoryScanningConfiguration": (
        "ecr/BatchGetRepositoryScanningConfiguration.continuous.json"
    ),
    "ecr:DescribeImages": "ecr/DescribeImages.enhanced.json",
    "ecr:DescribeImageScanFindings": "ecr/DescribeImageScanFindings.enhanced-active-medium.json",
    "inspector2:ListCoverage": "inspector2/ListCoverage.ecr-image-successful.json",
}
"""The same deployment under ENHANCED (Inspector) continuous scanning: scanned, one MEDIUM."""

GUIDE_MODEL_PACKAGE: dict[str, Spec] = {
    **GUIDE_BASIC,
    "sagemaker:DescribeModel": ["sagemaker/DescribeModel.model-package.json"],
    "sagemaker:DescribeModelPackage": "sagemaker/DescribeModelPackage.guide-approved.json",
}
"""The guide's deployment, its model created from an Approved Model Registry package version
(PrimaryContainer ModelPackageName): the image and the markers are the package container's."""

GUIDE_INFERENCE_COMPONENTS: dict[str, Spec] = {
    **GUIDE_BASIC,
    "sagemaker:DescribeEndpoint": "sagemaker/DescribeEndpoint.inference-components-inservice.json",
    "sagemaker:DescribeEndpointConfig": "sagemaker/DescribeEndpointConfig.inference-components.json",
    "sagemaker:ListInferenceComponents": (
        "sagemaker/ListInferenceComponents.guide-two-components.json"
    ),
    "sagemaker:DescribeInferenceComponent": [
        "sagemaker/DescribeInferenceComponent.guide-model.json",
        "sagemaker/DescribeInferenceComponent.guide-image.json",
    ],
}
"""The guide's image served by inference components: the endpoint config's variant names no
model; one component deploys the guide's model (ModelName), the other the image with its own
Environment (Container). Each reports the gated digest as its DeployedImage."""


def with_answers(base: Scenario, **ops: Spec) -> dict[str, Spec]:
    """``base`` with some operations answered differently (keys: ``DescribeEndpoint`` etc.)."""
    out = dict(base)
    for name, spec in ops.items():
        matches = [op for op in out if op.split(":", 1)[1] == name] or [
            op for op in _KNOWN_OPS if op.split(":", 1)[1] == name
        ]
        if len(matches) != 1:
            raise KeyError(f"no single operation named {name}")
        out[matches[0]] = spec
    return out


def modified(name: str, edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """An inline copy of fixture ``name`` after ``edit(response)``."""
    doc = copy.deepcopy(fixture(name))
    edit(doc["response"])
    doc["imitates"] = f"{name}, edited by the test"
    return doc


# ---- the world -----------------------------------------------------------------------------------


@dataclass
class Call:
    op: str
    params: dict[str, Any]
    key: str
    answer: Answer
    overridden: bool = False


def request_key(params: Mapping[str, Any]) -> str:
    """The identity of a request: its parameters as canonical JSON."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


@dataclass
class WireWorld:
    """Serves one scenario; records every call."""

    scenario: Scenario
    overrides: dict[tuple[str, str], Answer] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    unserved: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _per_thread: dict[tuple[str, int], int] = field(default_factory=dict)

    def reset(self, overrides: Mapping[tuple[str, str], Answer] | None = None) -> None:
        with self._lock:
            self.overrides = dict(overrides or {})
            self.calls = []
            self.unserved = []
            self._per_thread = {}

    # botocore before-send handler (bound through WireClients)
    def answer(self, service: str, protocol: str, request: Any, event_name: str) -> AWSResponse:
        op = f"{service}:{event_name.rsplit('.', 1)[-1]}"
        raw = request.body or b"{}"
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            params = json.loads(raw) if raw.strip() else {}
        except ValueError:
            params = {"<unparsed body>": raw.decode(errors="replace")}
        key = request_key(params)
        overridden = (op, key) in self.overrides
        try:
            answer = self.overrides[op, key] if overridden else self._resolve(op, params)
        except Exception as exc:  # a bug in a resolver must be loud, not an ERROR verdict
            answer = Answer.error("RealshapeWorldBug", f"{type(exc).__name__}: {exc}", 400)
            with self._lock:
                self.unserved.append(Call(op, params, key, answer))
        call = Call(op, params, key, answer, overridden)
        with self._lock:
            self.calls.append(call)
            if answer.error_code == "RealshapeNoFixture":
                self.unserved.append(call)
        body, headers = answer.render(protocol)
        return AWSResponse(request.url, answer.status, headers, _RawBody(body))

    def _docs(self, op: str) -> list[dict[str, Any]] | None:
        spec = self.scenario.get(op)
        if spec is None:
            return None
        specs = spec if isinstance(spec, list) else [spec]
        out = []
        for item in specs:
            if isinstance(item, Seq):
                slot = (op, threading.get_ident())
                with self._lock:
                    n = self._per_thread.get(slot, 0)
                    self._per_thread[slot] = n + 1
                item = item.items[min(n, len(item.items) - 1)]
            out.append(_as_doc(item))
        return out

    def _resolve(self, op: str, params: dict[str, Any]) -> Answer:
        docs = self._docs(op)
        if docs is None:
            return Answer.error(
                "RealshapeNoFixture", f"no real-shape fixture for {op} in this scenario", 400
            )
        resolver = _RESOLVERS.get(op)
        if resolver is None:
            return Answer.from_doc(docs[0])
        return resolver(params, docs)

    def assert_all_served(self) -> None:
        if self.unserved:
            lines = [
                f"  {c.op} {json.dumps(c.params, sort_keys=True)[:300]} ({c.answer.error_message})"
                for c in self.unserved
            ]
            raise AssertionError(
                "the gate made AWS calls this real-shape scenario has no fixture for; add a "
                "fixture modelled on the real answer under tests/realshape/fixtures and serve it:\n"
                + "\n".join(lines)
            )

    def ops_called(self) -> list[str]:
        return sorted({c.op for c in self.calls})


# ---- how each service answers ----------------------------------------------------------------


def _first_error(docs: Sequence[Mapping[str, Any]]) -> Answer | None:
    for doc in docs:
        if "error" in doc:
            return Answer.from_doc(doc)
    return None


def _describe_repositories(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    error = _first_error(docs)
    if error:
        return error
    names = params.get("repositoryNames") or []
    repos = [r for d in docs for r in d["response"].get("repositories") or []]
    if not names:
        return Answer.ok({"repositories": repos})
    found = [r for r in repos if r.get("repositoryName") in names]
    missing = [n for n in names if n not in {r.get("repositoryName") for r in found}]
    if missing:
        return Answer.error(
            "RepositoryNotFoundException",
            f"The repository with name '{missing[0]}' does not exist in the registry with id "
            f"'{ACCOUNT}'",
        )
    return Answer.ok({"repositories": found})


def _describe_images(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    error = _first_error(docs)
    if error:
        return error
    details = [d for doc in docs for d in doc["response"].get("imageDetails") or []]
    repository = params.get("repositoryName", "")
    wanted = params.get("imageIds")
    if wanted is None:
        return Answer.ok({"imageDetails": details})
    out: list[dict[str, Any]] = []
    for image_id in wanted:
        tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
        match = next(
            (
                d
                for d in details
                if (tag is None or tag in (d.get("imageTags") or []))
                and (digest is None or d.get("imageDigest") == digest)
            ),
            None,
        )
        if match is None or repository != match.get("repositoryName"):
            return Answer.error(
                "ImageNotFoundException",
                f"The image with imageId {{imageDigest:'{digest or 'null'}', imageTag:"
                f"'{tag or 'null'}'}} does not exist within the repository with name "
                f"'{repository}' in the registry with id '{ACCOUNT}'",
            )
        if match not in out:
            out.append(match)
    return Answer.ok({"imageDetails": out})


def _scan_findings(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    image_id = params.get("imageId") or {}
    digest = image_id.get("imageDigest")
    for doc in docs:
        if "error" in doc:
            return Answer.from_doc(doc)
        pages = doc.get("pages") or [doc["response"]]
        if (pages[0].get("imageId") or {}).get("imageDigest") != digest:
            continue
        token = params.get("nextToken")
        if not token:
            return Answer.ok(pages[0])
        for i, page in enumerate(pages[:-1]):
            if page.get("nextToken") == token:
                return Answer.ok(pages[i + 1])
        return Answer.error("InvalidParameterException", "Invalid parameter at 'nextToken'")
    return Answer.error(
        "ScanNotFoundException",
        f"Image scan does not exist for the image with '{{imageDigest:'{digest}', imageTag:"
        f"'{image_id.get('imageTag') or 'null'}'}}' in the repository with name "
        f"'{params.get('repositoryName')}' in the registry with id '{ACCOUNT}'",
    )


def _by_name(name_key: str, what: str, arn_kind: str, arn_key: str = "") -> Callable[..., Answer]:
    """Describe by name (or, with ``arn_key``, by the ARN the answer holds there too)."""

    def resolve(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
        name = params.get(name_key)
        for doc in docs:
            if "error" in doc:
                return Answer.from_doc(doc)
            response = doc["response"]
            if response.get(name_key) == name or (arn_key and response.get(arn_key) == name):
                return Answer.ok(response)
        return Answer.error(
            "com.amazon.coral.validate#ValidationException",
            f'Could not find {what} "{SAGEMAKER_ARN}:{arn_kind}/{str(name).lower()}".',
            message_key="Message",
        )

    return resolve


def _list_models(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    error = _first_error(docs)
    if error:
        return error
    pages = [p for d in docs for p in (d.get("pages") or [d["response"]])]
    token = params.get("NextToken")
    page = pages[0]
    if token:
        following = [pages[i + 1] for i, p in enumerate(pages[:-1]) if p.get("NextToken") == token]
        if not following:
            return Answer.error("ValidationException", "Invalid pagination token")
        page = following[0]
    text = params.get("NameContains")
    page = dict(page)
    page["Models"] = [m for m in page.get("Models") or [] if not text or text in m["ModelName"]]
    return Answer.ok(page)


def _list_inference_components(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    """Pages by NextToken (an unknown token is refused, as SageMaker does); EndpointNameEquals
    and VariantNameEquals filter the summaries."""
    error = _first_error(docs)
    if error:
        return error
    pages = [p for d in docs for p in (d.get("pages") or [d["response"]])]
    token = params.get("NextToken")
    page = pages[0]
    if token:
        following = [pages[i + 1] for i, p in enumerate(pages[:-1]) if p.get("NextToken") == token]
        if not following:
            return Answer.error("ValidationException", "Invalid pagination token")
        page = following[0]
    page = dict(page)
    page["InferenceComponents"] = [
        c
        for c in page.get("InferenceComponents") or []
        if params.get("EndpointNameEquals") in (None, c.get("EndpointName"))
        and params.get("VariantNameEquals") in (None, c.get("VariantName"))
    ]
    return Answer.ok(page)


def _coverage_value(record: Mapping[str, Any], key: str) -> list[str] | None:
    meta = record.get("resourceMetadata") or {}
    values = {
        "resourceId": [record.get("resourceId")],
        "resourceType": [record.get("resourceType")],
        "accountId": [record.get("accountId")],
        "scanType": [record.get("scanType")],
        "scanStatusCode": [(record.get("scanStatus") or {}).get("statusCode")],
        "scanStatusReason": [(record.get("scanStatus") or {}).get("reason")],
        "ecrRepositoryName": [(meta.get("ecrRepository") or {}).get("name")],
        "ecrImageTags": list((meta.get("ecrImage") or {}).get("tags") or []),
    }
    got = values.get(key)
    return None if got is None else [str(v) for v in got if v is not None]


def _list_coverage(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    """Inspector's filter semantics: filters under one key are OR'ed, keys are AND'ed."""
    error = _first_error(docs)
    if error:
        return error
    if params.get("nextToken"):
        return Answer.error("ValidationException", "Invalid pagination token")
    records = [r for d in docs for r in d["response"].get("coveredResources") or []]
    criteria = params.get("filterCriteria") or {}

    def matches(record: Mapping[str, Any]) -> bool:
        for key, filters in criteria.items():
            values = _coverage_value(record, key)
            if values is None:
                continue  # a date/number/map filter: not modelled, the record is kept
            ok = False
            for f in filters:
                want, how = str(f.get("value", "")), f.get("comparison", "EQUALS")
                if how == "EQUALS":
                    ok = ok or want in values
                elif how == "NOT_EQUALS":
                    ok = ok or want not in values
                elif how == "PREFIX":
                    ok = ok or any(v.startswith(want) for v in values)
            if not ok:
                return False
        return True

    return Answer.ok({"coveredResources": [r for r in records if matches(r)]})


def _describe_key(params: dict[str, Any], docs: list[dict[str, Any]]) -> Answer:
    """KMS DescribeKey by key id, key ARN, or one of the aliases a fixture document lists
    (``aliases`` beside its ``response``: the key they name); another is NotFoundException."""
    error = _first_error(docs)
    if error:
        return error
    wanted = str(params.get("KeyId", ""))
    alias = wanted.split(":alias/", 1)[1] if ":alias/" in wanted else wanted
    for doc in docs:
        meta = doc["response"]["KeyMetadata"]
        names = {
            meta["KeyId"],
            meta["Arn"],
            *(a.removeprefix("alias/") for a in doc.get("aliases", [])),
        }
        if wanted in names or alias.removeprefix("alias/") in names:
            return Answer.ok(doc["response"])
    return Answer.error("NotFoundException", f"Alias {wanted} is not found.")


_RESOLVERS: dict[str, Callable[[dict[str, Any], list[dict[str, Any]]], Answer]] = {
    "ecr:DescribeRepositories": _describe_repositories,
    "ecr:DescribeImages": _describe_images,
    "ecr:DescribeImageScanFindings": _scan_findings,
    "sagemaker:DescribeEndpoint": _by_name("EndpointName", "endpoint", "endpoint"),
    "sagemaker:DescribeEndpointConfig": _by_name(
        "EndpointConfigName", "endpoint configuration", "endpoint-config"
    ),
    "sagemaker:DescribeModel": _by_name("ModelName", "model", "model"),
    "sagemaker:ListModels": _list_models,
    # A model names a package version by its ARN (a versioned package's name is its group's).
    "sagemaker:DescribeModelPackage": _by_name(
        "ModelPackageName", "model package", "model-package", arn_key="ModelPackageArn"
    ),
    "sagemaker:ListInferenceComponents": _list_inference_components,
    "sagemaker:DescribeInferenceComponent": _by_name(
        "InferenceComponentName", "inference component", "inference-component"
    ),
    "inspector2:ListCoverage": _list_coverage,
    "sagemaker:DescribeModelCard": _by_name("ModelCardName", "model card", "model-card"),
    "kms:DescribeKey": _describe_key,
}
_KNOWN_OPS = (
    *_RESOLVERS,
    *GUIDE_BASIC,
    "inspector2:ListCoverage",
    "logs:GetLogEvents",
    "application-autoscaling:DescribeScalableTargets",
)


# ---- the gate's clients, answered by the world --------------------------------------------------


class WireClients:
    """``soc2gate.aws.AwsClients(region=...)`` with the world's before-send handler on each client.

    ``world`` may be swapped between runs (the fuzz layer reuses the clients: building botocore
    clients is the slow part of a run).
    """

    def __init__(self, world: WireWorld, region: str = REGION) -> None:
        from soc2gate.aws import AwsClients

        self.world = world
        # The fixtures' registry is the account's own; a config naming it as a central registry
        # (registry_id) reads it through the registry client, which names it on every call.
        self._inner = AwsClients(region=region, registry_id=ACCOUNT, registry_region=REGION)
        self._hooked: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        client = self._inner(service)
        with self._lock:
            if id(client) not in self._hooked:
                protocol = client.meta.service_model.protocol
                name = service.split("@", 1)[0]  # "ecr@registry": the same service's answers

                def handler(request: Any, event_name: str, **_: Any) -> AWSResponse:
                    return self.world.answer(name, protocol, request, event_name)

                client.meta.events.register("before-send", handler)
                self._hooked.add(id(client))
        return client


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Fake credentials and a loopback endpoint while clients are made, as a second fence: the
    handler answers every call, and if it ever did not, nothing could leave the machine."""
    saved = {k: os.environ.get(k) for k in _FENCE}
    os.environ.update(_FENCE)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_FENCE = {
    "AWS_ENDPOINT_URL": LOOPBACK_DISCARD,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


# ---- running the gate ------------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock whose ``sleep`` advances it: waiting states end at the deadline at once."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


def guide_config(**overrides: Any) -> Any:
    """The guide's gate run (``soc2gate run`` flags of the README), fast on a fake clock."""
    from soc2gate.config import GateConfig, validate

    values: dict[str, Any] = {
        "region": REGION,
        "repository": REPO,
        "require_tags": TAG_TEMPLATES,
        "commit_sha": COMMIT_SHA,
        "endpoint": ENDPOINT,
        "instance_types": ("ml.c5.large",),
        "require_immutable_tags": True,
        "timeout": 900.0,
        "poll_min": 20.0,
        "poll_max": 120.0,
        "endpoint_grace": 300.0,
        "log_lines": 20,
    }
    values.update(overrides)
    config = replace(GateConfig(), **values)
    validate(config)
    return config


@dataclass
class Run:
    report: Any
    world: WireWorld
    seconds: float

    @property
    def exit_code(self) -> int:
        return int(self.report.exit_code)

    def status(self, check_id: str) -> str:
        return self.result(check_id).status.value

    def result(self, check_id: str) -> Any:
        return next(r for r in self.report.results if r.check_id == check_id)

    def table(self) -> str:
        return "\n".join(
            f"  {r.check_id}: {r.status.value}: {r.reason[:300]}" for r in self.report.results
        )


def run_gate_on(
    world: WireWorld, config: Any, clients: WireClients | None = None, *, check_served: bool = True
) -> Run:
    """The real ``run_gate`` against ``world``, on a fake clock; fails if a call had no fixture."""
    from soc2gate.runner import run_gate

    clock = FakeClock()
    started = time.perf_counter()
    with loopback_only():
        if clients is None:
            clients = WireClients(world, region=config.region or REGION)
        else:
            clients.world = world
        report = run_gate(
            config, clients=clients, sleep=clock.sleep, clock=clock, progress=None, environ={}
        )
    if check_served:
        world.assert_all_served()
    return Run(report, world, time.perf_counter() - started)

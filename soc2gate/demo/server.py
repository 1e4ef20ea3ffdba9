"""The world's HTTP server: moto's ``ThreadedMotoServer`` behind a WSGI wrapper.

The wrapper (``_WorldApp``) sees every request before moto does. It names the operation (from
the SigV4 scope and X-Amz-Target, a smithy RPC path or a query-protocol Action) so the world can
count the call, run its ``on_call`` hooks and answer an injected ``Fault`` instead of moto;
requests marked with ``SEED_HEADER`` (the world's own seeding clients) pass straight through.
It also answers what moto has no handler for: the config blobs behind the download URLs
``moto_patches`` hands out, inspector2 ListCoverage (REST-JSON) and SageMaker
ListInferenceComponents / DescribeInferenceComponent (JSON 1.1), ECR DescribeImageSigningStatus /
ListImageReferrers and signer-data GetRevocationStatus, each shaped after the AWS API reference.
The world is seen only as a ``ServedWorld``, so this module never imports world.py; moto and
werkzeug are imported when the server is made.
"""

from __future__ import annotations

import io
import json
from typing import Any, Protocol
from urllib.parse import parse_qs

from soc2gate.demo.faults import Fault
from soc2gate.demo.moto_patches import decode_token, encode_token
from soc2gate.demo.scans import ScanScript

#: Requests carrying this header (the world's own seeding clients) are neither counted nor hooked.
SEED_HEADER = "X-Soc2gate-World-Seed"

_SERVICE_BY_TARGET_PREFIX = {
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "SageMaker": "sagemaker",
    "Logs_20140328": "logs",
}


class ServedWorld(Protocol):
    """What the server reads of its world (a ``MotoWorld``)."""

    host: str
    _port: int
    account_id: str
    _blobs: dict[str, bytes]

    def _before_call(self, service: str, operation: str) -> Fault | None: ...

    def inference_components(self) -> dict[str, dict[str, Any]]: ...

    def scan_script(self, repo: str, digest: str) -> ScanScript | None: ...

    def signing_statuses(self, repo: str, digest: str) -> list[dict[str, Any]]: ...

    def image_referrers(self, repo: str, digest: str) -> list[dict[str, Any]]: ...

    def revoked_entities(self, asked: Any) -> list[str]: ...


def _operation_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of an AWS request, or None (moto-api, blob downloads...)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or path.startswith("/_soc2gate/"):
        return None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, op = target.rsplit(".", 1)
        return service or _SERVICE_BY_TARGET_PREFIX.get(prefix, prefix), op
    if "/operation/" in path:  # smithy rpc-v2-cbor
        return service, path.rsplit("/operation/", 1)[1].strip("/")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):  # query protocol
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return service, action[0]
    qs_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if qs_action:
        return service, qs_action[0]
    return None


class _WorldApp:
    """WSGI wrapper around moto's app: counts, hooks, faults and blob downloads."""

    def __init__(self, app: Any, world: ServedWorld) -> None:
        self.app = app
        self.world = world

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/coverage/list" and environ.get("REQUEST_METHOD") == "POST":
            return self._list_coverage(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target in ("SageMaker.ListInferenceComponents", "SageMaker.DescribeInferenceComponent"):
            return self._inference_components(target.rsplit(".", 1)[1], environ, start_response)
        if target in (
            "AmazonEC2ContainerRegistry_V20150921.DescribeImageSigningStatus",
            "AmazonEC2ContainerRegistry_V20150921.ListImageReferrers",
        ):
            return self._signing(target.rsplit(".", 1)[1], environ, start_response)
        if path == "/revocations" and environ.get("REQUEST_METHOD") == "GET":
            return self._revocations(environ, start_response)
        if path.startswith("/_soc2gate/blobs/"):
            blob = self.world._blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"blob not found"]
            start_response(
                "200 OK",
                [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(blob)))],
            )
            return [blob]
        if not environ.get("HTTP_" + SEED_HEADER.upper().replace("-", "_")):
            op = _operation_of(environ)
            if op is not None:
                fault = self.world._before_call(*op)
                if fault is not None:
                    body = fault.body
                    headers = {"Content-Type": "application/x-amz-json-1.1", **fault.headers}
                    headers.setdefault("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
                    headers["Content-Length"] = str(len(body))
                    start_response(f"{fault.status} Injected", list(headers.items()))
                    return [body]
        return self.app(environ, start_response)

    def _inference_components(
        self, operation: str, environ: dict[str, Any], start_response: Any
    ) -> Any:
        """SageMaker ListInferenceComponents / DescribeInferenceComponent (moto has neither).

        JSON 1.1 like the real service: epoch-second timestamps; List filters by
        EndpointNameEquals / VariantNameEquals / StatusEquals and pages with NextToken;
        Describe of an unknown name is a ValidationException, as SageMaker answers.
        """
        seeded = environ.get("HTTP_" + SEED_HEADER.upper().replace("-", "_"))
        fault = None if seeded else self.world._before_call("sagemaker", operation)
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        components = self.world.inference_components()
        status, body = "200 OK", dict[str, Any]()
        if operation == "DescribeInferenceComponent":
            found = components.get(str(request.get("InferenceComponentName", "")))
            if found is None:
                status = "400 Bad Request"
                body = {
                    "__type": "ValidationException",
                    "message": "Could not find inference component "
                    f'"{request.get("InferenceComponentName")}".',
                }
            else:
                body = found
        else:
            summaries = []
            for c in sorted(components.values(), key=lambda c: c["CreationTime"], reverse=True):
                if request.get("EndpointNameEquals") not in (None, c["EndpointName"]):
                    continue
                if request.get("VariantNameEquals") not in (None, c["VariantName"]):
                    continue
                if request.get("StatusEquals") not in (None, c["InferenceComponentStatus"]):
                    continue
                summaries.append(
                    {
                        k: c[k]
                        for k in (
                            "CreationTime",
                            "InferenceComponentArn",
                            "InferenceComponentName",
                            "EndpointArn",
                            "EndpointName",
                            "VariantName",
                            "InferenceComponentStatus",
                            "LastModifiedTime",
                        )
                    }
                )
            start = decode_token(request["NextToken"]) if request.get("NextToken") else 0
            size = int(request.get("MaxResults") or 10)
            body = {"InferenceComponents": summaries[start : start + size]}
            if start + size < len(summaries):
                body["NextToken"] = encode_token(start + size)
        data = json.dumps(body).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(data))),
                ("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"),
            ],
        )
        return [data]

    def _signing(self, operation: str, environ: dict[str, Any], start_response: Any) -> Any:
        """ECR DescribeImageSigningStatus / ListImageReferrers (moto has neither), JSON 1.1
        shaped after the ECR API reference; ListImageReferrers filters by artifactTypes and
        pages with nextToken (maxResults, default 50)."""
        fault = self.world._before_call("ecr", operation)
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        repo = str(request.get("repositoryName", ""))
        body: dict[str, Any]
        if operation == "DescribeImageSigningStatus":
            digest = str((request.get("imageId") or {}).get("imageDigest", ""))
            body = {
                "repositoryName": repo,
                "imageId": {"imageDigest": digest},
                "registryId": str(request.get("registryId") or self.world.account_id),
                "signingStatuses": self.world.signing_statuses(repo, digest),
            }
        else:
            digest = str((request.get("subjectId") or {}).get("imageDigest", ""))
            wanted = (request.get("filter") or {}).get("artifactTypes")
            found = [
                r
                for r in self.world.image_referrers(repo, digest)
                if not wanted or r["artifactType"] in wanted
            ]
            start = decode_token(request["nextToken"]) if request.get("nextToken") else 0
            size = int(request.get("maxResults") or 50)
            body = {"referrers": found[start : start + size]}
            if start + size < len(found):
                body["nextToken"] = encode_token(start + size)
        return _json(start_response, body, "application/x-amz-json-1.1")

    def _revocations(self, environ: dict[str, Any], start_response: Any) -> Any:
        """signer-data GetRevocationStatus (GET /revocations, REST-JSON): the asked profile
        version, job and certificate hashes the world has revoked."""
        # The SigV4 signing name of signer-data is "signer", as the scope of the request says.
        fault = self.world._before_call("signer", "GetRevocationStatus")
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        asked = [
            *query.get("profileVersionArn", []),
            *query.get("jobArn", []),
            *query.get("certificateHashes", []),
        ]
        return _json(
            start_response,
            {"revokedEntities": self.world.revoked_entities(asked)},
            "application/json",
        )

    def _list_coverage(self, environ: dict[str, Any], start_response: Any) -> Any:
        """inspector2 ListCoverage (moto has none): the world's scan scripts' coverage records.

        REST-JSON like the real service: epoch-second timestamps, filters by resourceId.
        """
        fault = self.world._before_call("inspector2", "ListCoverage")
        if fault is not None:
            start_response(f"{fault.status} Injected", list(fault.headers.items()))
            return [fault.body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        criteria = request.get("filterCriteria") or {}
        wanted = [f.get("value", "") for f in criteria.get("resourceId") or []]
        caller = _caller_account(environ)
        records = []
        for resource_id in wanted:
            # arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>
            head, _, rest = resource_id.partition(":repository/")
            account = head.rsplit(":", 1)[-1]
            if account != caller:
                # Inspector shows an account its own resources only (short of a delegated
                # administrator, which the world has none of).
                continue
            repo, _, digest = rest.rpartition("/")
            script = self.world.scan_script(repo, digest)
            if script is None or script.coverage is None:
                continue
            record: dict[str, Any] = {
                "accountId": account,
                "resourceId": resource_id,
                "resourceType": "AWS_ECR_CONTAINER_IMAGE",
                "scanType": "PACKAGE",
                "scanStatus": {"statusCode": "ACTIVE", "reason": script.coverage},
                "resourceMetadata": {
                    "ecrRepository": {"name": repo, "scanFrequency": "CONTINUOUS_SCAN"}
                },
            }
            if script.coverage == "SUCCESSFUL" and script.completed_at is not None:
                record["lastScannedAt"] = script.completed_at.timestamp()
            records.append(record)
        body = json.dumps({"coveredResources": records}).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"),
            ],
        )
        return [body]


def _json(start_response: Any, body: dict[str, Any], content_type: str) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"),
        ],
    )
    return [data]


def _caller_account(environ: dict[str, Any]) -> str:
    """The account of the request's credentials, as moto tells it (AssumeRole credentials
    belong to the role's account; anything else to moto's default account)."""
    from moto.iam.models import get_account_id_from

    auth = str(environ.get("HTTP_AUTHORIZATION") or "")
    _, _, credential = auth.partition("Credential=")
    return str(get_account_id_from(credential.split("/", 1)[0]))


def make_server(world: ServedWorld) -> Any:
    """moto's threaded server on ``world.host`` / ``world._port`` (0: any free port), wrapped."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    class WorldServer(ThreadedMotoServer):
        # Same as ThreadedMotoServer._server_entry, with the app wrapped and request logs off.
        def _server_entry(self) -> None:
            app = _WorldApp(DomainDispatcherApplication(create_backend_app), world)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=QuietHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.05)

    return WorldServer(ip_address=world.host, port=world._port, verbose=False)

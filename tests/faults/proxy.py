"""A fault-injecting HTTP proxy between boto3 and a MotoWorld server, on 127.0.0.1.

Point the gate at ``FaultProxy.url`` (AWS_ENDPOINT_URL) and the proxy forwards each request
(method, path, headers, body) to the upstream moto server, except that it may answer instead:

* at a configurable ``rate`` (seeded RNG), with one of ``kinds`` picked at random, for every
  operation or only for ``ops``: the transient faults a real network and a busy AWS produce;
  and, at ``latency_rate``, the real answer but late;
* deterministically, for one operation: the n-th call (``fail_nth``) or every call
  (``always``), with any kind or a canned ``Reply`` (AccessDenied, ExpiredToken, a malformed
  body...);
* by rewriting a successful JSON response (``rewrite``): an unknown enum value, a missing field,
  a wrong type, a hostile string.

ECR, SageMaker and CloudWatch Logs all speak the JSON protocol, so the operation is the part of
the ``X-Amz-Target`` header after the dot; STS (AssumeRole) speaks the query protocol: its
``Action=`` form field, and its canned errors are XML. Everything the proxy did is counted in ``calls``,
``injected`` (by kind) and ``injected_ops`` (by operation and kind).
"""

from __future__ import annotations

import collections
import http.client
import json
import random
import socket
import struct
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

#: Faults a healthy but busy AWS and a flaky network produce; a correct client rides them out.
TRANSIENT_ERRORS: tuple[str, ...] = (
    "throttle",  # 400 {"__type": "ThrottlingException"}: botocore backs off and retries
    "429",  # a bare 429 from a load balancer: no AWS error code, only the status
    "500",  # 500 InternalFailure
    "503",  # 503 with an HTML body, as a front end sends it
    "reset",  # the connection is reset (RST) without any response
    "truncate",  # the real response with a Content-Length larger than the body sent
)
#: The same plus "latency": the real response, late (also available as ``latency_rate``).
TRANSIENT_KINDS: tuple[str, ...] = (*TRANSIENT_ERRORS, "latency")
#: Kinds that answer without the request reaching moto (so moto's call counters skip them).
_ANSWERS_ALONE = frozenset({"throttle", "429", "500", "503", "reset"})

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "date",
        "server",
    }
)
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Reply:
    """A canned HTTP answer."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def aws_error(code: str, message: str, status: int = 400) -> Reply:
    """A JSON-protocol AWS error, as AWS sends it."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Reply(status, body, {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-ErrorType": code})


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": JSON_CONTENT_TYPE})


def raw_reply(body: bytes, status: int = 200, content_type: str = JSON_CONTENT_TYPE) -> Reply:
    return Reply(status, body, {"Content-Type": content_type})


ACCESS_DENIED_MESSAGE = "User is not authorized to perform this operation"
EXPIRED_TOKEN = aws_error(
    "ExpiredTokenException", "The security token included in the request is expired"
)


def access_denied(message: str = ACCESS_DENIED_MESSAGE) -> Reply:
    # The message deliberately does not name the action: the gate must name it itself.
    return aws_error("AccessDeniedException", message)


#: What ``fail_nth`` / ``always`` take: a kind name, a canned Reply, or a function of the
#: Request returning a Reply.
Rewrite = Callable[[Any], Any]


@dataclass(frozen=True)
class Request:
    """What the proxy received, for actions that answer from the request (e.g. echo headers)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    operation: str


def operation_of(path: str, headers: Mapping[str, str], body: bytes = b"") -> str:
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
    if "." in target:
        return target.rsplit(".", 1)[1]
    if body.startswith(b"Action="):  # the query protocol (STS AssumeRole)
        return body.split(b"&", 1)[0].removeprefix(b"Action=").decode("ascii", "replace")
    if "/operation/" in path:  # smithy rpc-v2-cbor, should a service switch protocol
        return path.rsplit("/operation/", 1)[1].strip("/")
    return path


class FaultProxy:
    """The proxy. Use as a context manager; ``url`` is what AWS_ENDPOINT_URL should be."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        kinds: Collection[str] = TRANSIENT_ERRORS,
        ops: Collection[str] | None = None,
        seed: int = 0,
        latency: tuple[float, float] = (0.05, 0.3),
        latency_rate: float = 0.0,
    ) -> None:
        unknown = set(kinds) - set(TRANSIENT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rate = rate
        self.kinds = tuple(kinds)
        self.ops = None if ops is None else frozenset(ops)
        self.latency = latency
        self.latency_rate = latency_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._nth: dict[tuple[str, int], Any] = {}
        self._always: dict[str, Any] = {}
        self._rewrites: dict[str, list[Rewrite]] = collections.defaultdict(list)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Requests seen per operation (injected or not).
        self.calls: collections.Counter[str] = collections.Counter()
        #: Faults injected, by kind ("throttle", ..., "reply" for canned replies, "rewrite").
        self.injected: collections.Counter[str] = collections.Counter()
        #: The same by (operation, kind).
        self.injected_ops: collections.Counter[tuple[str, str]] = collections.Counter()
        #: Errors inside the proxy itself (a broken proxy must not look like a passing gate).
        self.errors: list[BaseException] = []

    # ---- configuration ----------------------------------------------------------------------

    def fail_nth(self, op: str, n: int, action: Any) -> FaultProxy:
        """Answer the n-th (1-based) call of ``op`` with ``action`` (a kind or a Reply)."""
        with self._lock:
            self._nth[(op, n)] = action
        return self

    def always(self, op: str, action: Any) -> FaultProxy:
        """Answer every call of ``op`` (``"*"``: of every operation) with ``action``."""
        with self._lock:
            self._always[op] = action
        return self

    def rewrite(self, op: str, fn: Rewrite) -> FaultProxy:
        """Pass each successful JSON response of ``op`` through ``fn`` (mutate or return new)."""
        with self._lock:
            self._rewrites[op].append(fn)
        return self

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FaultProxy is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client that hung up mid-response is expected (resets, truncations).
                pass

        class Handler(_Handler):
            owner = proxy

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- decisions --------------------------------------------------------------------------

    def _decide(self, op: str) -> tuple[int, Any]:
        """(call number, action or None) for one request."""
        with self._lock:
            self.calls[op] += 1
            n = self.calls[op]
            action = self._nth.get((op, n))
            if action is None:
                action = self._always.get(op, self._always.get("*"))
            if (
                action is None
                and self.rate > 0
                and (self.ops is None or op in self.ops)
                and self._rng.random() < self.rate
            ):
                action = self._rng.choice(self.kinds)
            if (
                action is None
                and self.latency_rate > 0
                and (self.ops is None or op in self.ops)
                and self._rng.random() < self.latency_rate
            ):
                action = "latency"
            delay = self._rng.uniform(*self.latency)
        if action == "latency":
            action = ("latency", delay)
        return n, action

    def _count(self, op: str, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1
            self.injected_ops[(op, kind)] += 1

    def _rewrites_for(self, op: str) -> list[Rewrite]:
        with self._lock:
            return list(self._rewrites.get(op, ()))


def query_error(code: str, message: str, status: int = 400) -> Reply:
    """A query-protocol (STS) AWS error, as AWS sends it: XML."""
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    return Reply(status, body, {"Content-Type": "text/xml"})


def canned(kind: str, query: bool = False) -> Reply:
    """The reply for the kinds that answer without asking upstream (``query``: to a
    query-protocol request, whose AWS errors are XML)."""
    error = query_error if query else aws_error
    if kind == "throttle":
        return error("Throttling" if query else "ThrottlingException", "Rate exceeded (injected)")
    if kind == "500" and query:
        return query_error("InternalFailure", "An internal error occurred (injected)", 500)
    if kind == "429":
        return raw_reply(b"Too Many Requests", 429, "text/plain")
    if kind == "500":
        return aws_error("InternalFailure", "We encountered an internal error (injected)", 500)
    if kind == "503":
        return raw_reply(
            b"<html><body><h1>503 Service Unavailable</h1></body></html>", 503, "text/html"
        )
    raise ValueError(kind)


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        proxy = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        op = operation_of(self.path, headers, body)
        try:
            _n, action = proxy._decide(op)
            request = Request(self.command, self.path, headers, body, op)
            if callable(action):
                action = action(request)
            if isinstance(action, Reply):
                proxy._count(op, "reply")
                self._send(action.status, action.headers, action.body)
                return
            if action in _ANSWERS_ALONE:
                proxy._count(op, str(action))
                if action == "reset":
                    self._reset()
                    return
                reply = canned(str(action), query=body.startswith(b"Action="))
                self._send(reply.status, reply.headers, reply.body)
                return
            if isinstance(action, tuple) and action[0] == "latency":
                proxy._count(op, "latency")
                if proxy._stopping.wait(action[1]):
                    self._reset()
                    return
            status, up_headers, up_body = self._forward(request)
            rewrites = proxy._rewrites_for(op)
            if rewrites and 200 <= status < 300:
                data = json.loads(up_body or b"{}")
                for fn in rewrites:
                    result = fn(data)
                    data = data if result is None else result
                up_body = json.dumps(data).encode()
                proxy._count(op, "rewrite")
            if action == "truncate":
                proxy._count(op, "truncate")
                self._truncate(status, up_headers, up_body)
                return
            if action is not None and not isinstance(action, tuple):
                raise ValueError(f"unknown action {action!r} for {op}")
            self._send(status, up_headers, up_body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # reported by the tests through proxy.errors
            proxy.errors.append(exc)
            self.close_connection = True
            with suppress(OSError):
                self._send(599, {"Content-Type": "text/plain"}, f"proxy error: {exc!r}".encode())

    def _forward(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        proxy = self.owner
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
        try:
            out_headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            out_headers["Content-Length"] = str(len(request.body))
            conn.request(request.method, request.path, body=request.body, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            headers = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            return resp.status, headers, data
        finally:
            conn.close()

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _truncate(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Announce the whole body (and then some), send half of it, and hang up cleanly."""
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) + 16))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        with suppress(OSError):  # FIN, not RST: a short read, not a connection error
            self.connection.shutdown(socket.SHUT_WR)

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        self.close_connection = True
        with suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()


@contextmanager
def fault_proxy(upstream: str, **kwargs: Any) -> Iterator[FaultProxy]:
    with FaultProxy(upstream, **kwargs) as proxy:
        yield proxy

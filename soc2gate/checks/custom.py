"""Custom checks (config ``custom_checks``): one read-only AWS call plus a JMESPath assertion.

The specs are validated when the config loads (``soc2gate.custom_spec``); this module runs them:

1. Resolve the placeholders. ``{region}``, ``{account}`` (STS GetCallerIdentity, once per run)
   and ``{commit_sha}`` need no check. The others come from the built-in check that resolves
   them (``custom_spec.PLACEHOLDERS``), named in ``depends_on`` so the runner waits for it; when
   that check did not PASS, the custom check is not evaluated: ERROR naming it, never a pass.
   ``{model}`` fans out over every model behind the config the InService endpoint runs: one
   evaluation per model, each named in the result's details and evidence, and each a part of
   the result (``CheckResult.parts``) that the JUnit report shows as its own testcase.
2. Call the operation (paginated operations are followed up to ``MAX_ITEMS`` items; more is an
   ERROR), turn the answer into plain JSON values (timestamps as ISO 8601 text).
3. ``wait.pending_when`` true: PENDING, polled by the runner under the run's deadline.
4. Evaluate ``expect`` over ``query``'s value (``evaluate``, pure). An answer that holds nothing
   (every member null or empty) and a query that finds nothing (null or an empty list) are a
   FAIL that names the query and what the answer held, whatever ``expect`` says (``jmespath``
   included).

Every ``Environment`` an answer holds joins the run's secret values (``ctx.secrets``): the
values quoted in a reason or recorded as evidence are masked here, and the runner masks them in
every other result (``soc2gate.redaction``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import botocore.exceptions

from soc2gate.aws import ACCESS_CODES, aws_message, error_code
from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.custom_spec import MAX_ITEMS, PLACEHOLDER_NEEDS, PLACEHOLDERS, CustomCheckSpec, fill
from soc2gate.errors import UnreadableAnswer
from soc2gate.models import CheckResult, Status

#: Characters of a queried value quoted in a reason.
VALUE_SHOWN = 200
#: Keys whose values are never shown when the answer is quoted (model environments hold
#: secrets; the rest look like secrets).
_HIDDEN_KEY = re.compile(r"environment|password|secret|token|credential|private", re.I)


@dataclass(frozen=True)
class Outcome:
    """The verdict of one evaluation (one call's answer)."""

    status: Status
    reason: str
    value: Any = None
    state: str = ""
    shown: str = ""  # what the answer held, for a query that found nothing


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, "1" is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def show(value: Any, limit: int = VALUE_SHOWN) -> str:
    """A value as compact JSON on one line, secrets hidden, cut at ``limit`` characters."""
    text = json.dumps(_hide(value), sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("[hidden]" if _HIDDEN_KEY.search(str(k)) else _hide(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Members of an answer that only page it: an answer holding nothing else is empty.
_PAGING = re.compile(r"^(is)?truncated$|^(next|continuation|pagination)?_?(token|marker)$", re.I)


def _nothing(value: Any) -> bool:
    """What a query found is nothing: null, an empty list, or a list or object (a multiselect
    such as ``[KmsKeyId, VpcConfig]``) of nothing but that. ``""``, ``{}``, false and 0 are
    values (``not_empty`` judges the first two)."""
    if isinstance(value, list):
        return all(_nothing(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_nothing(v) for v in value.values())
    return value is None


def _hollow(value: Any) -> bool:
    """Empty for ``not_empty``: null, "", [], {}, or a list or object of nothing but those."""
    if isinstance(value, (list, dict)):
        return all(_hollow(v) for v in (value.values() if isinstance(value, dict) else value))
    return value is None or value == ""


def _blank(value: Any) -> bool:
    """A member that says nothing exists: null, "", false, 0, or lists and objects of those."""
    if isinstance(value, (list, dict)):
        return all(_blank(v) for v in (value.values() if isinstance(value, dict) else value))
    return value is None or value == "" or value is False or (_number(value) and value == 0)


def _holds_nothing(answer: Mapping[str, Any]) -> bool:
    return all(_blank(v) for k, v in answer.items() if not _PAGING.match(k))


def _nothing_found(
    spec: CustomCheckSpec, answer: Mapping[str, Any], hide: Callable[[Any], Any]
) -> Outcome:
    if _holds_nothing(answer):
        members = ", ".join(f"{k}: {show(v)}" for k, v in sorted(answer.items())) or "no members"
        reason = (
            f"found nothing in the {spec.operation} answer: it is empty ({members}), which cannot "
            "be told from a read of the wrong account, region or resource, so no custom check "
            f"passes on it; expected {spec.expect_text()}"
        )
    else:
        keys = ", ".join(sorted(answer)) or "nothing"
        reason = (
            f"query {spec.query!r} found nothing in the {spec.operation} answer (it holds: "
            f"{keys}); expected {spec.expect_text()}"
        )
    return Outcome(Status.FAIL, reason, None, shown=show(hide(answer), 800))


def _as_is(value: Any) -> Any:
    return value


def evaluate(
    spec: CustomCheckSpec, answer: Mapping[str, Any], hide: Callable[[Any], Any] = _as_is
) -> Outcome:
    """The verdict of ``spec`` on one answer (plain JSON values). Pure.

    ``hide`` masks what is quoted of the answer (``SecretValues.value``); the verdict reads the
    answer as it is. An answer that holds nothing (every member null, empty, false or 0, paging
    aside: ``{"findings": []}``), and a query that finds nothing (null, an empty list, or a
    multiselect of nulls), are a FAIL whatever ``expect`` says, ``jmespath`` and ``length(...)``
    included: "nothing" cannot be told from a read of the wrong account, region or resource.
    """
    import jmespath
    import jmespath.exceptions

    if spec.pending_when:
        try:
            waiting = jmespath.search(spec.pending_when, answer)
        except jmespath.exceptions.JMESPathError as exc:
            waiting = f"an error ({' '.join(str(exc).split())})"
        if waiting is True:
            return Outcome(
                Status.PENDING,
                f"waiting while {spec.pending_when} (wait.pending_when) is true",
                state="pending_when",
            )
        if waiting is not False:
            return Outcome(
                Status.ERROR,
                f"wait.pending_when {spec.pending_when!r} gave {show(hide(waiting))}, not true "
                "or false: write it as a comparison",
            )
    if _holds_nothing(answer):
        return _nothing_found(spec, answer, hide)
    form, expected = spec.expect
    try:
        found = jmespath.search(spec.query, answer) if spec.query else None
    except jmespath.exceptions.JMESPathError as exc:
        return Outcome(
            Status.ERROR,
            f"query {spec.query!r} could not be evaluated on the {spec.operation} answer: "
            f"{' '.join(str(exc).split())}",
            shown=show(hide(answer), 800),
        )
    if spec.query and _nothing(found):
        return _nothing_found(spec, answer, hide)
    value = hide(found)  # what is quoted and recorded; the verdict reads ``found``
    if form == "jmespath":
        try:
            verdict = jmespath.search(expected, answer)
        except jmespath.exceptions.JMESPathError as exc:
            return Outcome(
                Status.ERROR,
                f"expect.jmespath {expected!r} could not be evaluated on the {spec.operation} "
                f"answer: {' '.join(str(exc).split())}",
                value,
                shown=show(hide(answer), 800),
            )
        seen = f"; {spec.query} = {show(value)}" if spec.query else ""
        if verdict is True:
            return Outcome(Status.PASS, f"{expected} is true{seen}", value)
        if verdict is False:
            return Outcome(Status.FAIL, f"{expected} is false{seen}", value)
        return Outcome(
            Status.ERROR,
            f"expect.jmespath {expected!r} gave {show(hide(verdict))}, not true or false: write "
            "it as a comparison",
            value,
        )
    got = f"{spec.query} = {show(value)}"
    if form == "not_empty":
        ok = not _hollow(found)
        return Outcome(Status.PASS if ok else Status.FAIL, f"{got}, expected not_empty", value)
    if form == "equals":
        ok = _same(found, expected)
        return Outcome(
            Status.PASS if ok else Status.FAIL, f"{got}, expected {show(expected)}", value
        )
    if form == "in":
        ok = any(_same(found, e) for e in expected)
        return Outcome(
            Status.PASS if ok else Status.FAIL, f"{got}, expected one of {show(expected)}", value
        )
    if form == "all_in":
        items = found if isinstance(found, list) else [found]
        bad = [v for v in items if not any(_same(v, e) for e in expected)]
        if bad:
            return Outcome(Status.FAIL, f"{got}: {show(hide(bad))} not in {show(expected)}", value)
        return Outcome(Status.PASS, f"{got}, every one in {show(expected)}", value)
    if form == "matches":
        if not isinstance(found, str):
            return Outcome(Status.FAIL, f"{got} is not text, expected to match {expected!r}", value)
        ok = re.fullmatch(expected, found) is not None
        return Outcome(
            Status.PASS if ok else Status.FAIL, f"{got}, expected to match {expected!r}", value
        )
    # at_least / at_most
    if not _number(found):
        return Outcome(Status.FAIL, f"{got} is not a number, expected {form} {expected}", value)
    ok = found >= expected if form == "at_least" else found <= expected
    return Outcome(Status.PASS if ok else Status.FAIL, f"{got}, expected {form} {expected}", value)


def plain(value: Any) -> Any:
    """A botocore answer as plain JSON values: timestamps ISO 8601, bytes as text."""

    def default(item: Any) -> Any:
        if hasattr(item, "isoformat"):
            return item.isoformat()
        if isinstance(item, (bytes, bytearray)):
            return item.decode("utf-8", "replace")
        return str(item)

    return json.loads(json.dumps(value, default=default))


class NotEvaluated(Exception):
    """A placeholder could not be resolved: the check's verdict is this ERROR. ``blocked_by``
    names the built-in check whose FAIL or ERROR left nothing to evaluate."""

    def __init__(self, message: str, blocked_by: str = "") -> None:
        super().__init__(message)
        self.blocked_by = blocked_by


class CustomCheck(Check):
    """Base of the classes ``build`` makes, one per spec (ids and depends_on are class data)."""

    spec: ClassVar[CustomCheckSpec]
    custom: ClassVar[bool] = True

    def skip_reason(self, config: GateConfig) -> str | None:
        for placeholder in self.spec.placeholders:
            needs = PLACEHOLDER_NEEDS.get(placeholder)
            if needs and not getattr(config, needs):
                return f"not configured: {{{placeholder}}} needs --{needs}"
            if placeholder in ("gated_tag", "gated_digest") and not (
                config.scan_tag or config.require_tags
            ):
                return f"not configured: {{{placeholder}}} needs --require-tag or --scan-tag"
        return None

    # ---- placeholders ------------------------------------------------------------------------
    def _from_check(self, ctx: CheckContext, placeholder: str) -> CheckResult:
        dependency = PLACEHOLDERS[placeholder]
        result = ctx.result_of(dependency)
        if result is None or result.status is Status.SKIPPED:
            why = f" ({result.reason})" if result is not None else ""
            raise NotEvaluated(
                f"not evaluated: {{{placeholder}}} comes from {dependency}, which did not run"
                f"{why}; run it too"
            )
        if result.status is not Status.PASS:
            # Reports say "not evaluated: <dependency> failed" (blocked_by) before this reason.
            raise NotEvaluated(
                f"{{{placeholder}}} comes from {dependency}, which is {result.status.value}: "
                "nothing to evaluate",
                blocked_by=dependency,
            )
        return result

    def _resolve(self, ctx: CheckContext) -> list[dict[str, str]]:
        """One mapping of placeholder values per evaluation (several for ``{model}``)."""
        from soc2gate.checks.sagemaker._sagemaker import describe_endpoint_config

        config = ctx.config
        values: dict[str, str] = {}
        models: list[str] = []
        for placeholder in self.spec.placeholders:
            if PLACEHOLDERS[placeholder]:
                self._from_check(ctx, placeholder)
            if placeholder == "region":
                # The region of the client the call goes to (a central registry's own).
                gated = self.reads_gated_repository()
                values["region"] = (None if gated else config.region) or str(
                    self._client(ctx).meta.region_name
                )
            elif placeholder == "account":
                values["account"] = _account(ctx)
            elif placeholder == "commit_sha":
                sha = config.resolved_sha(ctx.environ)
                if not sha:
                    raise NotEvaluated(
                        "not evaluated: {commit_sha} is unknown: pass --commit-sha or set "
                        "GITHUB_SHA or CODEBUILD_RESOLVED_SOURCE_VERSION"
                    )
                values["commit_sha"] = sha
            elif placeholder == "repository":
                values["repository"] = config.repository or ""
            elif placeholder == "gated_tag":
                values["gated_tag"] = config.gated_tag(ctx.environ) or ""
            elif placeholder == "gated_digest":
                digest = self._from_check(ctx, placeholder).evidence.get("imageDigest")
                if not isinstance(digest, str) or not digest.startswith("sha256:"):
                    raise UnreadableAnswer(
                        f"ecr-scan-findings recorded no image digest for the gated tag ({digest!r})"
                    )
                values["gated_digest"] = digest
            elif placeholder == "endpoint":
                values["endpoint"] = config.endpoint or ""
            else:  # endpoint_arn, endpoint_config, model: the endpoint sagemaker-endpoint-status
                # saw InService and settled, and the config it runs
                name = config.endpoint or ""
                endpoint = _in_service(ctx, name)
                if endpoint is None or not endpoint.config_name:
                    raise UnreadableAnswer(f"DescribeEndpoint {name!r}: no EndpointConfigName")
                if placeholder == "endpoint_arn":
                    if not endpoint.arn:
                        raise UnreadableAnswer(f"DescribeEndpoint {name!r}: no EndpointArn")
                    values["endpoint_arn"] = endpoint.arn
                    continue
                values["endpoint_config"] = endpoint.config_name
                if placeholder == "model":
                    variants = describe_endpoint_config(ctx, endpoint.config_name)
                    unnamed = [v.name for v in variants if not v.model_name]
                    if unnamed or not variants:
                        raise NotEvaluated(
                            f"not evaluated: endpoint config {endpoint.config_name} has a variant "
                            f"naming no model ({', '.join(unnamed) or 'no variants'})"
                        )
                    models = list(dict.fromkeys(v.model_name for v in variants))
        if models:
            return [{**values, "model": model} for model in models]
        return [values]

    # ---- the call ----------------------------------------------------------------------------
    def reads_gated_repository(self) -> bool:
        """An ECR or Inspector call about the gated repository or image ({repository},
        {gated_tag}, {gated_digest}): it reads that repository's registry, wherever it is."""
        gated = ("repository", "gated_tag", "gated_digest")
        return self.spec.service in ("ecr", "inspector2") and any(
            p in gated for p in self.spec.placeholders
        )

    def _client(self, ctx: CheckContext) -> Any:
        if self.reads_gated_repository():
            return ctx.registry_client(self.spec.service)
        return ctx.clients(self.spec.service)

    def _call(self, ctx: CheckContext, params: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec
        client = self._client(ctx)
        if spec.paginated:
            pages = client.get_paginator(spec.method).paginate(
                **params, PaginationConfig={"MaxItems": MAX_ITEMS}
            )
            answer = pages.build_full_result()
            if answer.get("NextToken"):
                raise NotEvaluated(
                    f"{spec.operation} returned more than {MAX_ITEMS} items: narrow the call "
                    "with params (filters) so the whole answer can be read"
                )
        else:
            answer = getattr(client, spec.method)(**params)
            if isinstance(answer, Mapping):
                more = [k for k, v in answer.items() if _PAGING.match(k) and v]
                if more:
                    # An operation botocore cannot page (signer ListProfilePermissions): its
                    # first page is not the whole answer.
                    raise NotEvaluated(
                        f"{spec.operation} answered one page of several ({', '.join(more)}): "
                        "narrow the call with params so that one page holds the whole answer"
                    )
        if not isinstance(answer, Mapping):
            raise UnreadableAnswer(f"{spec.operation}: the answer is not an object")
        found = dict(plain({k: v for k, v in answer.items() if k != "ResponseMetadata"}))
        # Every Environment it holds (a model's, a package's, a job's...) is masked by value in
        # every report of the run, whatever the query (soc2gate.redaction).
        ctx.secrets.add_answer(found, ctx.config.require_env)
        return found

    def run(self, ctx: CheckContext) -> CheckResult:
        spec = self.spec
        evidence: dict[str, Any] = {
            "call": spec.call,
            "operation": f"{spec.iam_prefix}:{spec.operation}",
            "query": spec.query,
            "expectation": spec.expect_text(),
            "soc2_criteria": list(spec.soc2),
        }
        if spec.pending_when:
            evidence["pending_when"] = spec.pending_when
        try:
            resolved = self._resolve(ctx)
            runs: list[tuple[dict[str, Any], Outcome]] = []
            for values in resolved:
                params = fill(spec.params, values)
                answer = self._call(ctx, params)
                runs.append((params, evaluate(spec, answer, ctx.secrets.value)))
        except NotEvaluated as exc:
            return replace(self.error(str(exc), evidence=evidence), blocked_by=exc.blocked_by)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in ACCESS_CODES or exc.operation_name != spec.operation:
                raise  # the runner retries transient errors and reports the rest as ERROR
            action = f"{spec.iam_prefix}:{spec.operation}"
            return self.error(
                f"AccessDenied calling {action}: grant {action} to the gate's role (`soc2gate "
                f"iam-policy --config FILE` prints the policy). AWS said: {aws_message(exc)}",
                evidence=evidence,
            )
        evidence["evaluations"] = [
            {
                "params": params,
                "value": outcome.value,
                "status": outcome.status.value,
            }
            for params, outcome in runs
        ]
        return self._verdict(runs, evidence)

    def _verdict(
        self, runs: Sequence[tuple[dict[str, Any], Outcome]], evidence: dict[str, Any]
    ) -> CheckResult:
        spec = self.spec
        fan_out = "model" in spec.placeholders
        details = []
        for params, outcome in runs:
            label = f"model {params_model(spec, params)}: " if fan_out else ""
            details.append(f"{outcome.status.value} {label}{outcome.reason}")
            if outcome.shown:
                details.append(f"  the answer: {outcome.shown}")
        call = f"{spec.call}({_params_text(spec.params if fan_out else runs[0][0])})"
        details.insert(0, f"call: {call}")
        parts = (
            tuple(
                CheckResult(
                    check_id=self.id,
                    status=o.status,
                    reason=f"{o.reason} ({spec.call}({_params_text(p)}))",
                    title=self.title,
                    remediation="" if o.status is Status.PASS else self.remediation,
                    details=(f"the answer: {o.shown}",) if o.shown else (),
                    evidence={"params": p, "value": o.value},
                    subject=params_model(spec, p),
                )
                for p, o in runs
            )
            if fan_out
            else ()
        )
        for status in (Status.FAIL, Status.ERROR, Status.PENDING):
            bad = [(p, o) for p, o in runs if o.status is status]
            if not bad:
                continue
            if fan_out:
                reason = f"{len(bad)} of {len(runs)} model(s): " + "; ".join(
                    f"{params_model(spec, p)}: {o.reason}" for p, o in bad
                )
            else:
                reason = f"{bad[0][1].reason} ({call})"
            if status is Status.PENDING:
                return self.pending(bad[0][1].state, reason, details=details, evidence=evidence)
            result = self._result(status, reason, details=details, evidence=evidence)
            return replace(result, parts=parts)
        if fan_out:
            reason = f"all {len(runs)} model(s): " + "; ".join(
                f"{params_model(spec, p)}: {o.reason}" for p, o in runs
            )
        else:
            reason = f"{runs[0][1].reason} ({call})"
        return replace(self.passed(reason, details=details, evidence=evidence), parts=parts)


def params_model(spec: CustomCheckSpec, params: Mapping[str, Any]) -> str:
    """The model a fanned-out evaluation ran for (the parameter that held ``{model}``)."""
    for key, raw in spec.params.items():
        if isinstance(raw, str) and "{model}" in raw:
            return str(params.get(key, "?"))
    return "?"


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={show(v, 120)}" for k, v in params.items())


def _in_service(ctx: CheckContext, name: str) -> Any:
    """The endpoint sagemaker-endpoint-status saw InService and settled (memoised by it)."""
    from soc2gate.checks.sagemaker._sagemaker import describe_endpoint

    return ctx.memo(
        ("endpoint-in-service", name), lambda: describe_endpoint(ctx.clients("sagemaker"), name)
    )


def _account(ctx: CheckContext) -> str:
    def fetch() -> str:
        answer = ctx.clients("sts").get_caller_identity()
        account = answer.get("Account") if isinstance(answer, Mapping) else None
        if not isinstance(account, str) or not account:
            raise UnreadableAnswer("GetCallerIdentity: Account is missing")
        return account

    return str(ctx.memo(("account",), fetch))


def _asserts(spec: CustomCheckSpec) -> str:
    params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
    wait = f"; waits while {spec.pending_when}" if spec.pending_when else ""
    query = f"{spec.query} " if spec.query else ""
    return f"Custom check: {spec.call}({params}) | {query}{spec.expect_text()}{wait}."


def build(specs: Sequence[CustomCheckSpec]) -> tuple[Check, ...]:
    """One Check per spec, in the order the config lists them."""
    checks: list[Check] = []
    for spec in specs:
        attrs: dict[str, Any] = {
            "spec": spec,
            "id": spec.id,
            "title": spec.title,
            "asserts": _asserts(spec),
            "remediation": spec.remediation
            or f"Change the resource so that {spec.query or 'the answer'} satisfies "
            f"{spec.expect_text()} ({spec.call}).",
            "soc2": spec.soc2,
            "depends_on": spec.depends_on,
        }
        cls = type(f"Custom_{spec.id.replace('-', '_')}", (CustomCheck,), attrs)
        checks.append(cls())
    return tuple(checks)

"""--role-arn credentials refresh themselves: a run longer than the role session still signs.

AssumeRole credentials last an hour by default and --timeout has no cap (issue 10 hole 11).
The gate's client factory must hand botocore refreshable credentials, which call AssumeRole
again as the current set nears its expiry, instead of a fixed key pair that expires mid-wait.
"""

from __future__ import annotations

import datetime as dt

import botocore.credentials
from moto import mock_aws

from soc2gate.aws import AwsClients

ROLE = "arn:aws:iam::123456789012:role/soc2gate-reader"


def _credentials(client: object) -> botocore.credentials.Credentials:
    return client._request_signer._credentials  # type: ignore[attr-defined]


@mock_aws
def test_assumed_role_credentials_are_refreshed_before_they_expire() -> None:
    clients = AwsClients(region="us-east-1", role_arn=ROLE, session_name="soc2gate-test")
    ecr = clients("ecr")
    creds = _credentials(ecr)
    assert isinstance(creds, botocore.credentials.RefreshableCredentials)
    first = creds.get_frozen_credentials()
    assert first.access_key and first.token
    ecr.describe_repositories()  # signs with the assumed role

    # An hour and more later: the set is inside botocore's mandatory refresh window (and the
    # fetcher's in-memory copy of the STS answer has expired with it).
    creds._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
    creds._refresh_using.__self__._cache.clear()
    second = creds.get_frozen_credentials()
    assert second.access_key != first.access_key, "AssumeRole was not called again"
    assert creds._expiry_time > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)
    ecr.describe_repositories()


@mock_aws
def test_every_client_of_a_target_shares_the_refreshing_credentials() -> None:
    clients = AwsClients(region="us-east-1", role_arn=ROLE)
    assert _credentials(clients("ecr")) is _credentials(clients("sagemaker"))


def test_a_refused_assume_role_is_an_aws_error_inside_the_first_call() -> None:
    # Deferred: the STS call happens on first use, inside a check, so a refused AssumeRole is
    # that target's ERROR (naming sts:AssumeRole), not a crash while building clients.
    # Point STS at a closed loopback port: AssumeRole cannot succeed.
    import os

    import botocore.exceptions
    import pytest

    from soc2gate.aws import describe_error

    os.environ["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9"
    try:
        clients = AwsClients(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/x")
        ecr = clients("ecr")
        with pytest.raises(botocore.exceptions.BotoCoreError) as info:
            ecr.describe_repositories()
        assert "127.0.0.1:9" in describe_error(info.value)
    finally:
        del os.environ["AWS_ENDPOINT_URL_STS"]

"""Test-wide guard: no test can reach real AWS.

Set at import time, before any test module imports boto3, so even collection-time code sees
only fake credentials. Real AWS rejects these keys; moto and Stubber accept anything.
"""

from __future__ import annotations

import os

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # A developer's ~/.aws files must not leak a profile, role or region into the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
UNSET_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)

os.environ.update(FAKE_AWS_ENV)
for _name in UNSET_AWS_ENV:
    os.environ.pop(_name, None)

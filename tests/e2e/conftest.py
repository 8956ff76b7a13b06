"""Fixtures of the end-to-end suite: the running local stack as `tests/e2e/run.sh` started
it (its URLs, the gateway's and the engine's process ids, the emulator and the function
binaries), an HTTP helper and a boto3 Lambda client. Without run.sh's environment every test
that uses them fails: the suite never passes against nothing.
"""

import base64
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config


@dataclass(frozen=True)
class Stack:
    http_url: str
    invoke_url: str
    runtime: str  # "emulator" or "inprocess": how the gateway runs the functions
    gateway_pid: int
    engine_pid: int  # DynamoDB Local's java process
    rie: str  # the Lambda Runtime Interface Emulator of the pinned SAM CLI
    bootstrap_dir: str  # the ingest, query and swagger binaries
    ingest_timeout: int  # seconds, the ingest function's timeout in this run
    cors_origin: str  # the one origin the gateway allows
    gateway_log: str  # the file of the gateway's standard output and error (with the functions')


@pytest.fixture(scope="session")
def stack():
    names = [
        "E2E_HTTP_URL", "E2E_INVOKE_URL", "E2E_RUNTIME", "E2E_GATEWAY_PID", "E2E_ENGINE_PID",
        "E2E_RIE", "E2E_BOOTSTRAP_DIR", "E2E_INGEST_TIMEOUT", "E2E_CORS_ORIGIN", "E2E_GATEWAY_LOG",
    ]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run this through tests/e2e/run.sh (make test)")
    env = os.environ
    return Stack(
        http_url=env["E2E_HTTP_URL"],
        invoke_url=env["E2E_INVOKE_URL"],
        runtime=env["E2E_RUNTIME"],
        gateway_pid=int(env["E2E_GATEWAY_PID"]),
        engine_pid=int(env["E2E_ENGINE_PID"]),
        rie=env["E2E_RIE"],
        bootstrap_dir=env["E2E_BOOTSTRAP_DIR"],
        ingest_timeout=int(env["E2E_INGEST_TIMEOUT"]),
        cors_origin=env["E2E_CORS_ORIGIN"],
        gateway_log=env["E2E_GATEWAY_LOG"],
    )


def jwt(claims):
    """An unsigned JWT: the local gateway decodes claims without verification."""
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}.sig"


@dataclass
class Answer:
    status: int
    headers: dict  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


def request(url, method="GET", body=None, headers=None, timeout=30):
    """One HTTP request; any status is an answer, never an exception."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@pytest.fixture(scope="session")
def lambda_client(stack):
    return boto3.client(
        "lambda",
        endpoint_url=stack.invoke_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )

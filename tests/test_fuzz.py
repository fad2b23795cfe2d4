"""Fuzzing: schemathesis generates requests for every operation of the service's own OpenAPI
schema (valid and invalid ones) and checks each answer: no 500, a documented status and content
type, a body that matches the documented schema. Requests carry an admin key, so no operation is
closed to them, and every operation is checked for refusing calls without one. Two checks of the
request side are left out. That every request the schema allows is accepted: the service refuses
some with 422 on purpose, for what a schema cannot say (a field id or country code that is not
known, a body id that is not the path's). That every request the schema forbids is refused:
pydantic's lax mode takes JSON `false` for an integer 0, and unknown query parameters are ignored.
Every check of the responses stays. KAKEHASHI_FUZZ_EXAMPLES sets the examples per operation (40 by default)."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from starlette.types import ASGIApp, Receive, Scope, Send

from service.http.app import create_app
from tests.conftest import api_key, copy_state, fake_runtime

EXAMPLES = int(os.environ.get("KAKEHASHI_FUZZ_EXAMPLES", "40"))
CASES: Counter[str] = Counter()
LENIENT = [positive_data_acceptance, negative_data_rejection]


class Deferred:
    """The app under test: it needs the demo index that a session fixture builds, after this module
    is imported; until then an app on an empty directory serves the (identical) schema."""

    def __init__(self, until_then: ASGIApp) -> None:
        self.target = until_then

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.target(scope, receive, send)


APP = Deferred(create_app(fake_runtime(Path(tempfile.mkdtemp(prefix="kakehashi-schema-")))))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def admin_key(tmp_path_factory: pytest.TempPathFactory, demo_state: Path) -> Iterator[str]:
    state = tmp_path_factory.mktemp("fuzz") / "state"
    copy_state(demo_state, state)
    runtime = fake_runtime(state, index_updates=False, open_read=False)  # the schema declares a key on every operation
    app = create_app(runtime)
    with TestClient(app):  # runs the lifespan: the batch worker takes the jobs the fuzzer submits
        APP.target = app
        yield api_key(runtime, "admin")
    print(f"\nschemathesis: {sum(CASES.values())} cases over {len(CASES)} operations: {dict(sorted(CASES.items()))}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_within_its_schema(case, admin_key: str) -> None:  # type: ignore[no-untyped-def]
    CASES[f"{case.method} {case.path}"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_key}"}, excluded_checks=LENIENT)

"""Fixtures for the rt-vertex tests: a fake OAuth token endpoint, a fake Vertex
AI Live endpoint that trusts it, and a service account whose key is generated
here, so google-auth's real code signs, exchanges and refreshes tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.oauth_token import FakeOAuthServer
from tests.fakes.vertex_live import FakeVertexLive

#: Environment variables that would change how credentials, projects and
#: locations resolve; every test starts without them.
GOOGLE_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "VERTEXAI_PROJECT", "VERTEX_PROJECT",
    "VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION", "GOOGLE_CLOUD_QUOTA_PROJECT", "GCLOUD_PROJECT",
)


@pytest.fixture(autouse=True)
def clean_google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in GOOGLE_ENV:
        monkeypatch.delenv(name, raising=False)
    # ADC must not find this machine's gcloud login nor probe a metadata server.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")


@pytest.fixture
def oauth():
    with FakeOAuthServer().running() as server:
        yield server


@pytest.fixture
def service_account(oauth: FakeOAuthServer) -> dict[str, Any]:
    return oauth.service_account()


@pytest.fixture
def sa_file(service_account: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account))
    return path


@pytest.fixture
async def vertex(oauth: FakeOAuthServer):
    fake = FakeVertexLive(oauth=oauth)
    async with fake.running():
        yield fake


def vertex_config(fake: FakeVertexLive, credentials: Any, *, model_name: str = "vertex-live",
                  model: str = "gemini-live-2.5-flash", **params: Any) -> dict[str, Any]:
    """A LiteLLM-style config with one Vertex deployment pointed at the fake."""
    litellm_params: dict[str, Any] = {
        "model": f"vertex_ai/{model}", "vertex_project": "rt-proj", "vertex_location": "us-central1",
        "api_base": fake.api_base, "setup_grace": 0.2, **params,
    }
    if credentials is not None:
        litellm_params["vertex_credentials"] = credentials
    return {"model_list": [{"model_name": model_name, "litellm_params": litellm_params}]}

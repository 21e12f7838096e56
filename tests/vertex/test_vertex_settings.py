"""rt-vertex configuration: endpoints, model resource names, and credentials
checked when the config is loaded (``rt-core check``), never echoing a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rt_core import ConfigError
from rt_core.cli import main as cli_main
from rt_core.config import load_config
from rt_core.plugins import PluginHost
from rt_vertex.provider import VertexSettings, env_defaults, live_host, live_url, model_resource
from tests.fakes.oauth_token import FakeOAuthServer

LIVE_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"


def settings(**params: Any) -> VertexSettings:
    return VertexSettings.model_validate({"model": "vertex_ai/gemini-live-2.5-flash", **params})


def load(params: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    host = PluginHost(env={})
    cfg = load_config({"model_list": [{"model_name": "vertex-live", "litellm_params": params}]},
                      host.providers(), env=env or {})
    return cfg.deployments[0]


@pytest.mark.parametrize(("location", "host"), [
    ("us-central1", "us-central1-aiplatform.googleapis.com"),
    ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
    ("global", "aiplatform.googleapis.com"),
    ("us", "aiplatform.us.rep.googleapis.com"),
    ("eu", "aiplatform.eu.rep.googleapis.com"),
])
def test_location_maps_to_its_host(location: str, host: str, service_account: dict[str, Any]) -> None:
    assert live_host(location) == host
    s = settings(vertex_credentials=service_account, vertex_location=location)
    assert live_url(s) == f"wss://{host}{LIVE_PATH}"
    assert model_resource("gemini-live-2.5-flash", s) == (
        f"projects/rt-test-project/locations/{location}/publishers/google/models/gemini-live-2.5-flash")


def test_api_version_v1_is_selectable_and_v1beta1_is_default(service_account: dict[str, Any]) -> None:
    assert settings(vertex_credentials=service_account).api_version == "v1beta1"
    for alias in ("beta", "v1beta", "V1BETA1"):  # rt-gemini's validator, with Vertex's aliases
        assert settings(vertex_credentials=service_account, api_version=alias).api_version == "v1beta1"
    s = settings(vertex_credentials=service_account, api_version="v1")
    assert live_url(s).endswith("/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent")
    with pytest.raises(ValueError):
        settings(vertex_credentials=service_account, api_version="v1alpha")


@pytest.mark.parametrize(("api_base", "url"), [
    ("http://127.0.0.1:9000", f"ws://127.0.0.1:9000{LIVE_PATH}"),
    ("https://vertex-proxy.example/", f"wss://vertex-proxy.example{LIVE_PATH}"),
    ("wss://gw.example/google", f"wss://gw.example/google{LIVE_PATH}"),
    ("ws://gw.example", f"ws://gw.example{LIVE_PATH}"),
    (f"https://gw.example{LIVE_PATH}", f"wss://gw.example{LIVE_PATH}"),
])
def test_api_base_gets_the_live_path_appended(api_base: str, url: str, service_account: dict[str, Any]) -> None:
    assert live_url(settings(vertex_credentials=service_account, api_base=api_base)) == url


def test_model_resource_forms(service_account: dict[str, Any]) -> None:
    s = settings(vertex_credentials=service_account, vertex_project="other-proj", vertex_location="europe-west4")
    full = "projects/other-proj/locations/europe-west4/publishers/google/models/gemini-live-2.5-flash"
    assert model_resource("gemini-live-2.5-flash", s) == full
    assert model_resource("models/gemini-live-2.5-flash", s) == full
    assert model_resource("publishers/google/models/gemini-live-2.5-flash", s) == full
    assert model_resource("projects/x/locations/y/publishers/google/models/z", s) == (
        "projects/x/locations/y/publishers/google/models/z")


def test_project_comes_from_config_then_credentials_then_environment(
        service_account: dict[str, Any], oauth: FakeOAuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings(vertex_credentials=service_account).project == "rt-test-project"
    assert settings(vertex_credentials=service_account, vertex_project="mine").project == "mine"
    no_project = oauth.service_account(project_id=None)
    with pytest.raises(ValueError, match="vertex_project is required"):
        settings(vertex_credentials=no_project)
    monkeypatch.setenv("VERTEXAI_PROJECT", "from-env")
    monkeypatch.setenv("VERTEXAI_LOCATION", "europe-west1")
    s = settings(vertex_credentials=no_project)
    assert (s.project, s.location) == ("from-env", "europe-west1")


def test_adc_needs_a_project_but_is_not_loaded_at_startup(sa_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="vertex_project is required"):
        settings()
    s = settings(vertex_project="adc-proj")
    assert s.token_source is not None and s.token_source.source.is_adc
    assert s.location == "us-central1"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))  # ADC from a key file: its project
    assert settings().project == "rt-test-project"


def test_credentials_file_inline_json_mapping_and_env_reference(
        service_account: dict[str, Any], sa_file: Path) -> None:
    by_path = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": str(sa_file)})
    inline = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": json.dumps(service_account)})
    mapping = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": service_account})
    env = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": "os.environ/SA_JSON"},
               env={"SA_JSON": json.dumps(service_account)})
    for dep in (by_path, inline, mapping, env):
        assert dep.provider == "vertex_ai"
        assert dep.model == "gemini-live-2.5-flash"
        assert dep.settings.project == "rt-test-project"
        assert dep.settings.token_source.source.kind == "service_account"
    assert by_path.settings.token_source.source.origin == f"file {sa_file}"
    # The key never shows in reprs of the settings or the deployment.
    for dep in (by_path, inline, mapping, env):
        assert "PRIVATE KEY" not in repr(dep.settings) and "PRIVATE KEY" not in repr(dep)


def test_litellm_aliases_and_vertex_prefix(service_account: dict[str, Any]) -> None:
    dep = load({"model": "vertex/gemini-live-2.5-flash", "vertex_ai_credentials": service_account,
                "vertex_ai_project": "p-alias", "vertex_region": "europe-west4"})
    assert dep.provider == "vertex_ai"
    assert (dep.settings.project, dep.settings.location) == ("p-alias", "europe-west4")


def _assert_clean(message: str, info: dict[str, Any]) -> None:
    assert "PRIVATE KEY" not in message
    for secret in (info.get("private_key"), info.get("private_key_id"), info.get("client_secret"),
                   info.get("refresh_token")):
        if secret:
            assert secret not in message


@pytest.mark.parametrize("breakage", ["bad_key", "missing_email", "no_type", "unknown_type"])
def test_broken_credentials_fail_at_load_naming_the_deployment_never_the_secret(
        breakage: str, service_account: dict[str, Any]) -> None:
    info = dict(service_account)
    if breakage == "bad_key":
        info["private_key"] = "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5IGF0IGFsbCwgc29ycnk=\n-----END PRIVATE KEY-----\n"
    elif breakage == "missing_email":
        del info["client_email"]
    elif breakage == "no_type":
        del info["type"]
    else:
        info["type"] = "carrier_pigeon"
    with pytest.raises(ConfigError) as err:
        load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": json.dumps(info)})
    message = str(err.value)
    assert message.startswith("model_list[0].litellm_params")
    assert "vertex_credentials" in message
    _assert_clean(message, info)


def test_missing_file_and_invalid_json_are_clear(tmp_path: Path, service_account: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load({"model": "vertex_ai/m", "vertex_credentials": str(tmp_path / "nope.json")})
    broken = json.dumps(service_account)[:-40]  # cut inside the JSON
    with pytest.raises(ConfigError, match="not valid JSON") as err:
        load({"model": "vertex_ai/m", "vertex_credentials": broken})
    _assert_clean(str(err.value), service_account)


def test_express_mode_and_conflicts(service_account: dict[str, Any]) -> None:
    s = settings(api_key="express-key")
    assert s.express and s.token_source is None and s.location == "global"
    assert live_url(s) == f"wss://aiplatform.googleapis.com{LIVE_PATH}"
    assert model_resource("gemini-live-2.5-flash", s) == "publishers/google/models/gemini-live-2.5-flash"
    with pytest.raises(ValueError, match="not both"):
        settings(api_key="express-key", vertex_credentials=service_account)
    for bad in ({"vertex_location": "us-central1.evil.example"}, {"vertex_project": "Not A Project"}):
        with pytest.raises(ValueError):
            settings(vertex_credentials=service_account, **bad)


def test_env_defaults_reference_the_environment_never_copy_it() -> None:
    assert env_defaults({}) == []
    assert env_defaults({"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}) == []
    [entry] = env_defaults({"GOOGLE_APPLICATION_CREDENTIALS": "/k.json", "GOOGLE_CLOUD_PROJECT": "p"})
    params = entry["litellm_params"]
    assert params["vertex_credentials"] == "os.environ/GOOGLE_APPLICATION_CREDENTIALS"
    assert params["vertex_project"] == "os.environ/GOOGLE_CLOUD_PROJECT"


def test_rt_core_check_reports_a_broken_credential(tmp_path: Path, service_account: dict[str, Any],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    sa = tmp_path / "sa.json"
    sa.write_text(json.dumps(service_account))
    good.write_text(f"model_list:\n  - model_name: vertex-live\n    litellm_params:\n"
                    f"      model: vertex_ai/gemini-live-2.5-flash\n      vertex_credentials: {sa}\n")
    assert cli_main(["check", str(good)]) == 0
    assert "vertex_ai/gemini-live-2.5-flash" in capsys.readouterr().out

    bad_info = dict(service_account, private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    sa.write_text(json.dumps(bad_info))
    assert cli_main(["check", str(good)]) == 2
    err = capsys.readouterr().err
    assert "model_list[0].litellm_params" in err and "vertex_credentials" in err
    _assert_clean(err, bad_info)


def test_plugin_is_discovered_and_builds_a_vertex_translator(service_account: dict[str, Any]) -> None:
    from rt_core import Session
    from rt_gemini import GeminiTranslator
    from rt_vertex import plugin

    host = PluginHost(env={})
    providers = host.providers()
    assert providers["vertex_ai"] is providers["vertex"]
    dep = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": service_account})
    session = Session(id="sess_test", model="vertex-live", deployment=dep)
    translator = plugin.create_translator(deployment=dep, session=session)
    assert isinstance(translator, GeminiTranslator)
    assert translator.platform == "vertex"
    assert translator.opts.setup.model == (
        "projects/rt-test-project/locations/us-central1/publishers/google/models/gemini-live-2.5-flash")
    upstream = plugin.connect_upstream(deployment=dep, session=session)
    assert upstream.url == f"wss://us-central1-aiplatform.googleapis.com{LIVE_PATH}"
    assert "Authorization" not in upstream.headers  # fetched when each connection opens (refresh_headers)


def test_input_audio_is_resampled_to_16k_by_default_native_on_request(service_account: dict[str, Any]) -> None:
    """Vertex documents 16 kHz input only, so rt-vertex resamples unless told otherwise
    (rt-gemini's default, "native", relies on AI Studio's documented resampling)."""
    from rt_core import Session
    from rt_vertex import plugin

    for params, rate, mime in (({}, 16000, "audio/pcm;rate=16000"),
                               ({"input_audio_rate": "native"}, "native", "audio/pcm;rate=24000"),
                               ({"input_audio_rate": 24000}, 24000, "audio/pcm;rate=24000")):
        dep = load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": service_account, **params})
        assert dep.settings.input_audio_rate == rate
        session = Session(id="sess_test", model="vertex-live", deployment=dep)
        translator = plugin.create_translator(deployment=dep, session=session)
        assert translator.opts.input_audio_rate == rate
        assert translator.in_audio.head.startswith('{"realtimeInput":{"audio":{"mimeType":"' + mime + '"')
    with pytest.raises(ConfigError) as info:
        load({"model": "vertex_ai/gemini-live-2.5-flash", "vertex_credentials": service_account,
              "input_audio_rate": "fast"})
    assert "input_audio_rate" in str(info.value)

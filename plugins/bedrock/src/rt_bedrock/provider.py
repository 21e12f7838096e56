"""Deployment settings for ``bedrock/…`` models and the provider spec.

No protocol logic lives here: only what a deployment may configure and how a
model id is read.  Keys follow LiteLLM's Bedrock spelling
(``aws_region_name``, ``aws_access_key_id``, ``aws_secret_access_key``,
``aws_session_token``; each may be written ``os.environ/NAME``, which the core
config loader resolves).  Without keys the SDK's default credential chain is
used (environment, shared files, container and instance roles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from rt_core import DeploymentSettings, ProviderSpec

__all__ = ["BedrockSettings", "PROVIDER", "NOVA_SONIC_V1", "NOVA_2_SONIC", "is_nova2", "model_id_of"]

NOVA_SONIC_V1 = "amazon.nova-sonic-v1:0"
NOVA_2_SONIC = "amazon.nova-2-sonic-v1:0"
DEFAULT_REGION = "us-east-1"


class BedrockSettings(DeploymentSettings):
    """``litellm_params`` of a ``bedrock/amazon.nova-…-sonic…`` deployment."""

    aws_region_name: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None

    #: PEM file of extra CA certificates to trust for ``api_base``.  Meant for
    #: tests against a local fake with a test CA; production endpoints use the
    #: system trust store.
    tls_ca_file: str | None = None

    #: Seconds a Nova stream may live before rt hands the conversation over to a
    #: fresh stream (Bedrock caps a stream at about 8 minutes).  0 disables
    #: proactive continuation.
    continuation_after_s: float = Field(default=360.0, ge=0)
    #: Age at which the hand-over happens even in the middle of a turn
    #: (default: 1.25 × ``continuation_after_s``, which leaves 30 s before the cap).
    continuation_deadline_s: float | None = Field(default=None, gt=0)
    #: Most seconds of not-yet-answered user audio replayed into the new stream.
    continuation_replay_max_s: float = Field(default=10.0, ge=0)
    #: Replace a stream that fails mid-session with a recoverable error (model
    #: timeout, silence timeout, stream limit, 5xx, throttling) by a new one
    #: seeded with the conversation, instead of ending the session.
    recover_stream_errors: bool = True

    #: How long ``open()`` waits for the HTTP response headers of the stream.
    #: Errors the service reports at connect (throttling, access denied) arrive
    #: there and become failover-able connect errors.  When the headers have
    #: not come by then the stream is used anyway and errors surface later.
    handshake_timeout_s: float = Field(default=3.0, ge=0)

    #: Default Nova voice id (``matthew``, ``tiffany``, ``amy``, …) when the
    #: client names none; a client's OpenAI voice is mapped (see voices.py).
    voice: str | None = None
    #: Nova ``inferenceConfiguration`` (sessionStart).
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    #: Nova 2 ``turnDetectionConfiguration.endpointingSensitivity``; by default
    #: derived from a client's ``semantic_vad`` eagerness.
    endpointing_sensitivity: Literal["HIGH", "MEDIUM", "LOW"] | None = None
    #: Silence appended on ``input_audio_buffer.commit`` so that Nova's own
    #: end-of-turn detection fires for push-to-talk clients.
    commit_silence_ms: int = Field(default=800, ge=0, le=5000)

    @model_validator(mode="after")
    def _credentials_pair(self) -> "BedrockSettings":
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("aws_access_key_id and aws_secret_access_key must be given together")
        return self

    @property
    def region(self) -> str | None:
        """The configured region (``aws_region_name``, or LiteLLM's ``region_name``)."""
        if self.aws_region_name:
            return self.aws_region_name
        extra = (self.model_extra or {}).get("region_name")
        return extra if isinstance(extra, str) and extra else None

    def deadline_s(self) -> float:
        """Stream age at which a pending hand-over is forced."""
        if self.continuation_deadline_s is not None:
            return max(self.continuation_deadline_s, self.continuation_after_s)
        return self.continuation_after_s * 1.25


def model_id_of(model: str) -> str:
    """The Bedrock model id in a deployment's model (``bedrock/`` prefix optional)."""
    return model.split("/", 1)[1] if model.startswith("bedrock/") else model


def is_nova2(model_id: str) -> bool:
    """Nova 2 Sonic accepts interactive text turns and turn-detection settings."""
    return "nova-2-sonic" in model_id


def _env_defaults(env: Mapping[str, str]) -> list[dict[str, Any]]:
    if not (env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")):
        return []
    params: dict[str, Any] = {
        "model": f"bedrock/{NOVA_2_SONIC}",
        "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
        "aws_secret_access_key": "os.environ/AWS_SECRET_ACCESS_KEY",
    }
    if env.get("AWS_SESSION_TOKEN"):
        params["aws_session_token"] = "os.environ/AWS_SESSION_TOKEN"
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(name):
            params["aws_region_name"] = f"os.environ/{name}"
            break
    return [{"model_name": "nova-sonic", "litellm_params": params, "model_info": {"mode": "realtime"}}]


PROVIDER = ProviderSpec(
    name="bedrock",
    settings=BedrockSettings,
    env_defaults=_env_defaults,
    description="Amazon Bedrock Nova Sonic (speech-to-speech) via InvokeModelWithBidirectionalStream",
)

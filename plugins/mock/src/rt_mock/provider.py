"""The ``mock`` provider: its ``litellm_params`` and its provider spec.

No protocol logic lives here -- only what a deployment can configure.  Every
key is optional, so ``{"model": "mock/mock"}`` is a complete deployment.
"""

from __future__ import annotations

from pydantic import Field

from rt_core import DeploymentSettings, ProviderSpec

__all__ = ["PROVIDER_NAME", "MockSettings", "PROVIDER"]

PROVIDER_NAME = "mock"


class MockSettings(DeploymentSettings):
    """``litellm_params`` of a ``mock/<anything>`` deployment.

    ``<anything>`` becomes the ``model`` the session reports.
    """

    #: Say this instead of echoing the user ("You said: …").
    reply_text: str | None = None
    #: What the model "hears" in every user audio turn (and the input
    #: transcription reports), instead of ``[audio 1.20s]``.  Lets a CI test
    #: drive tool calls from audio: ``input_transcript: "call get_weather"``.
    input_transcript: str | None = None
    #: The session's default instructions (shown in ``session.created``).
    instructions: str | None = None
    #: Time between ``response.created`` and the first delta: simulated latency.
    reply_delay_ms: float = Field(default=0.0, ge=0, le=60_000)
    #: Time between two deltas (one word each).  Small by default so tests are
    #: fast, yet above zero so a response can be cancelled half-way.
    delta_interval_ms: float = Field(default=2.0, ge=0, le=10_000)
    #: Send audio at playback speed: each word's delta is followed by a pause
    #: as long as the word (``delta_interval_ms`` is then ignored).
    realtime_pacing: bool = False


PROVIDER = ProviderSpec(
    name=PROVIDER_NAME,
    settings=MockSettings,
    description="deterministic offline realtime model for tests and CI (no network, no key)",
)

"""The translator's state, shared by its three halves.

:class:`TranslatorState` holds everything a session's translation remembers;
the behaviour lives in three mixins, each in its own module:

* :mod:`rt_gemini.client_side` -- client events → Gemini messages;
* :mod:`rt_gemini.gemini_side` -- Gemini messages → OpenAI server events;
* :mod:`rt_gemini.connection` -- ``setup``, the outbox, resumption and errors.

The stubs at the end of :class:`TranslatorState` are the few calls one half
makes into another; the mixins implement them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rt_core import Action
from rt_core.audio import PCM16_24K, AudioConverter

from .conversation import Conversation
from .input_audio import InputAudio, InputAudioRate
from .responses import Emitter, ResponseState
from .session_config import SessionConfig, SetupOptions

__all__ = ["TranslatorOptions", "TranslatorState", "UserTurn", "Call"]

SETUP_TIMER = "gemini.setup"
COMMIT_TIMER = "gemini.commit_reply"
GO_AWAY_TIMER = "gemini.go_away"

#: How long after speech really starts Gemini's first transcript usually arrives.
SPEECH_DETECT_LAG_MS = 300
#: Below this much audio a commit is refused, as OpenAI does.
MIN_COMMIT_MS = 100
#: Longest audio sent upstream in one frame (manual commits, silence tails).
MAX_AUDIO_CHUNK_MS = 1000
#: Upper bound of client input buffered while no Gemini connection is ready.
OUTBOX_LIMIT_BYTES = 16 * 1024 * 1024
#: Upper bound of audio kept for replay while the user speaks (a minute).
REPLAY_LIMIT_MS = 60_000
#: Audio kept for replay while nobody speaks, for speech not yet detected.
REPLAY_IDLE_MS = 2_000
#: Audio kept for replay even after a new handle (possibly in flight when it was issued).
REPLAY_MARGIN_MS = 500
#: Upper bound of Gemini frames held for a reply the client has not asked for yet.
HELD_LIMIT = 4096
#: Tool calls rt answers itself under tool_choice "none" before giving up.
MAX_TOOL_REJECTIONS = 3
TOOLS_DISABLED_MESSAGE = "Function calls are disabled for this response; answer the user directly."


@dataclass(frozen=True)
class TranslatorOptions:
    """Per-deployment behaviour; see :class:`rt_gemini.provider.GeminiSettings`."""

    setup: SetupOptions
    default_voice: str | None = None
    setup_grace: float = 1.0
    commit_reply_timeout: float = 2.0
    silence_tail: float | None = None
    go_away_margin: float = 2.0
    max_resumptions: int = 3
    #: User turn sent for a response.create that adds nothing new; None = by model.
    reply_placeholder: str | None = None
    #: Input audio to Gemini at the client's own rate ("native") or resampled to this rate.
    input_audio_rate: InputAudioRate = "native"


@dataclass(frozen=True)
class ReplayLimits:
    """The replay buffer's bounds in bytes of audio frames at the input rate in force
    (frames are what is kept: base64 text, 4/3 of the pcm16 bytes)."""

    speaking: int
    idle: int
    margin: int

    @classmethod
    def for_rate(cls, rate: int) -> ReplayLimits:
        b64_per_ms = rate * 2 / 1000 * 4 / 3
        return cls(int(REPLAY_LIMIT_MS * b64_per_ms), int(REPLAY_IDLE_MS * b64_per_ms),
                   int(REPLAY_MARGIN_MS * b64_per_ms))


@dataclass
class UserTurn:
    """One user audio turn (an OpenAI user message item with ``input_audio``)."""

    item_id: str
    start_ms: float
    committed: bool = False
    completed: bool = False
    chunks: list[str] = field(default_factory=list)
    pending_deltas: list[str] = field(default_factory=list)
    end_ms: float | None = None

    @property
    def transcript(self) -> str:
        return "".join(self.chunks)


@dataclass
class Call:
    """A function call Gemini asked for."""

    call_id: str
    gemini_id: str | None
    name: str
    item_id: str
    state: str = "pending"  # pending → answered (output received) → sent | cancelled


class TranslatorState:
    """Everything one session's translation remembers (see the module docstring).

    :param options: deployment behaviour (model name, platform, timers …).
    :param model: the model name the client asked for (shown in the session).
    :param ids: the session's id factory.
    """

    #: Slots, not a __dict__: a translator's 42 attributes (41 here) are more than
    #: CPython 3.12 keeps in a class's shared keys (30), past which every ``self.x``
    #: on the hot path became a dict lookup (tests/unit/test_attribute_layout.py).
    #: Subclasses declare their own (the halves: none).
    __slots__ = (
        "opts", "platform", "ids", "emit", "session_id", "config", "conversation", "phase", "outbox",
        "outbox_bytes", "outbox_overflowed", "setup_fingerprint", "handle", "content_sent", "reconnect_pending",
        "since_handle", "since_handle_bytes", "go_away_pending", "resumptions", "in_audio", "replay_limits",
        "input_ms", "boundary_ms", "manual_buf", "manual_bytes", "activity_open", "pending_turns",
        "pending_outputs", "user_turn", "resp", "out_conv", "auto_unclaimed", "commit_pending", "held",
        "suppress_turn", "suppress_in_flight", "tool_turn_open", "calls", "call_names", "user_input_unanswered",
        "orphan_transcript",
    )

    def __init__(self, options: TranslatorOptions, *, model: str, ids: Any) -> None:
        self.opts = options
        self.platform = options.setup.platform
        self.ids = ids
        self.emit = Emitter(ids)
        self.session_id = ids("sess")
        self.config = SessionConfig(model=model)
        if options.default_voice:
            self.config.voice = options.default_voice
        self.conversation = Conversation(ids("conv"))

        # upstream lifecycle
        self.phase = "new"  # new → open → setup → ready; reconnecting; closed
        self.outbox: list[str] = []
        self.outbox_bytes = 0
        self.outbox_overflowed = False
        self.setup_fingerprint: str | None = None
        self.handle: str | None = None
        self.content_sent = False
        self.reconnect_pending: str | None = None
        #: Audio frames sent since the last resumption handle: the handle does not
        #: cover them, so they are replayed on the next connection (server VAD).
        self.since_handle: deque[str] = deque()
        self.since_handle_bytes = 0
        self.go_away_pending = False
        self.resumptions = 0

        # input audio (see rt_gemini.input_audio)
        self.in_audio = InputAudio(self.config.input_format, options.input_audio_rate)
        self.replay_limits = ReplayLimits.for_rate(self.in_audio.dst.rate)
        self.input_ms = 0.0
        self.boundary_ms = 0.0
        self.manual_buf: list[bytes] = []
        self.manual_bytes = 0
        self.activity_open = False

        # conversation input not yet sent to Gemini
        self.pending_turns: list[tuple[str, dict[str, Any]]] = []
        self.pending_outputs: list[tuple[str, dict[str, Any]]] = []

        # turns and replies
        self.user_turn: UserTurn | None = None
        self.resp: ResponseState | None = None
        self.out_conv = AudioConverter(PCM16_24K, self.config.output_format)
        self.auto_unclaimed: str | None = None
        self.commit_pending = False
        self.held: list[dict[str, Any]] | None = None
        self.suppress_turn = False
        #: The suppressed turn is known to be under way (Gemini produced some of it).
        self.suppress_in_flight = False
        self.tool_turn_open = False
        self.calls: dict[str, Call] = {}
        self.call_names: dict[str, str] = {}
        #: User input was sent that no reply has followed yet (decides the placeholder).
        self.user_input_unanswered = False
        #: Output transcription that arrived while no response was open: it starts
        #: nothing by itself (Gemini's transcription is not ordered with the turn),
        #: and is shown if audio of a new reply follows.
        self.orphan_transcript: list[str] = []

    # ------------------------------------------------------------------ calls across the halves

    def _send(self, actions: list[Action], frame: str) -> None:
        raise NotImplementedError

    def _ensure_setup(self, actions: list[Action]) -> None:
        raise NotImplementedError

    def _remember(self, frame: str) -> None:
        raise NotImplementedError

    def _send_setup(self, actions: list[Action]) -> None:
        raise NotImplementedError

    def _fingerprint(self) -> str:
        raise NotImplementedError

    def _maybe_reconnect(self, actions: list[Action]) -> None:
        raise NotImplementedError

    def _setup_complete(self, actions: list[Action]) -> None:
        raise NotImplementedError

    def _resumption_update(self, sru: dict[str, Any], actions: list[Action]) -> None:
        raise NotImplementedError

    def _go_away(self, ga: dict[str, Any], actions: list[Action]) -> None:
        raise NotImplementedError

    def _new_response(self, actions: list[Action], origin: str, *, metadata: Any = None,
                      tool_choice: Any = None) -> ResponseState:
        raise NotImplementedError

    def _finish(self, actions: list[Action], status: str, details: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def _content(self, m: dict[str, Any], actions: list[Action]) -> None:
        raise NotImplementedError

    def _complete_turn(self, actions: list[Action]) -> None:
        raise NotImplementedError

    def _commit_turn(self, actions: list[Action], turn: UserTurn, *, speech_stopped: bool) -> None:
        raise NotImplementedError

    def _call_by_gemini_id(self, gid: Any, name: Any) -> Call | None:
        raise NotImplementedError

    def _end_unsure_suppression(self) -> None:
        raise NotImplementedError

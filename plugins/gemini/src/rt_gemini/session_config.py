"""The OpenAI session configuration in force, and the Gemini ``setup`` it implies.

:class:`SessionConfig` holds what the client configured with ``session.update``
(GA shape) after validation, reports it back as a GA session object
(``session.created`` / ``session.updated``) and builds the Gemini ``setup``
message from it.  Pure data: no I/O, no clock.

Mapping (each is tested in ``tests/gemini/test_gemini_mapping.py``):

=================================  ===========================================================
OpenAI (GA session)                Gemini ``setup``
=================================  ===========================================================
``instructions``                   ``systemInstruction`` (one text part)
``output_modalities``              ``generationConfig.responseModalities`` (one modality);
                                   audio also enables ``outputAudioTranscription``
``audio.output.voice``             ``generationConfig.speechConfig.voiceConfig…voiceName``
                                   (:mod:`rt_gemini.voices`)
``tools`` (functions)              ``tools[0].functionDeclarations`` with the JSON Schema as
                                   ``parametersJsonSchema`` (passed through, not converted)
``tool_choice``                    ``auto``: nothing; ``none``: calls answered with an error
                                   by rt, never shown; ``required`` / a named function: an
                                   instruction appended to ``systemInstruction`` (and only
                                   that function declared)
``audio.input.turn_detection``     ``realtimeInputConfig.automaticActivityDetection``:
                                   ``threshold`` → start sensitivity, ``prefix_padding_ms``,
                                   ``silence_duration_ms``, semantic ``eagerness`` → end
                                   sensitivity; ``null`` → ``disabled: true`` (manual turns);
                                   ``interrupt_response: false`` → ``NO_INTERRUPTION``;
                                   ``create_response`` is honoured by rt itself
``audio.input.transcription``      ``inputAudioTranscription`` (always requested; events are
                                   forwarded only when the client asked for transcription)
``max_output_tokens``              ``generationConfig.maxOutputTokens`` (``inf``: omitted)
``temperature`` (beta)             ``generationConfig.temperature``
``truncation``                     ``contextWindowCompression`` (``disabled``: omitted)
``reasoning.effort``               ``generationConfig.thinkingConfig.thinkingLevel``
=================================  ===========================================================
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from rt_core import ClientEventError, UnsupportedEventError
from rt_core.audio import PCM16_24K, AudioFormat

from . import wire
from .voices import DEFAULT_OPENAI_VOICE, gemini_voice

__all__ = ["SessionConfig", "SetupOptions", "Unsupported"]

Platform = Literal["aistudio", "vertex"]

_SERVER_VAD_DEFAULT: dict[str, Any] = {"type": "server_vad", "create_response": True, "interrupt_response": True}
_EAGERNESS = ("low", "medium", "high", "auto")
_EFFORT_TO_LEVEL = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "xhigh": "HIGH"}
REQUIRED_TOOL_INSTRUCTION = (
    "Always respond by calling one of the available functions; do not answer without a function call."
)


def _named_tool_instruction(name: str) -> str:
    return f"Always respond by calling the function `{name}`; do not answer without calling it."


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A valid setting Gemini Live cannot apply: reported in one ``error`` event."""

    param: str
    message: str


@dataclass(frozen=True)
class SetupOptions:
    """Deployment-level knobs that shape ``setup`` (from the provider settings)."""

    model: str  # the wire model name (``models/…`` or a Vertex resource name)
    platform: Platform = "aistudio"
    language: str | None = None
    temperature: float | None = None
    context_window_compression: bool = True


@dataclass
class SessionConfig:
    """The OpenAI-side session configuration in force (GA field names)."""

    model: str
    instructions: str = ""
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    voice: str = DEFAULT_OPENAI_VOICE
    input_format: AudioFormat = PCM16_24K
    output_format: AudioFormat = PCM16_24K
    transcription: dict[str, Any] | None = None
    turn_detection: dict[str, Any] | None = field(default_factory=lambda: dict(_SERVER_VAD_DEFAULT))
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    max_output_tokens: int | str = "inf"
    temperature: float | None = None
    truncation: str | dict[str, Any] = "auto"
    reasoning: dict[str, Any] | None = None

    # ------------------------------------------------------------------ derived

    @property
    def audio_out(self) -> bool:
        return "audio" in self.output_modalities

    @property
    def vad(self) -> bool:
        return self.turn_detection is not None

    @property
    def create_response(self) -> bool:
        td = self.turn_detection
        return td is None or td.get("create_response", True) is not False

    def copy(self) -> SessionConfig:
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ OpenAI view

    def to_openai(self, session_id: str) -> dict[str, Any]:
        """The GA session object for ``session.created`` / ``session.updated``."""
        out: dict[str, Any] = {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": self.model,
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "tools": copy.deepcopy(self.tools),
            "tool_choice": copy.deepcopy(self.tool_choice),
            "max_output_tokens": self.max_output_tokens,
            "tracing": None,
            "truncation": copy.deepcopy(self.truncation),
            "prompt": None,
            "include": None,
            "audio": {
                "input": {
                    "format": self.input_format.to_openai(),
                    "transcription": copy.deepcopy(self.transcription),
                    "noise_reduction": None,
                    "turn_detection": copy.deepcopy(self.turn_detection),
                },
                "output": {"format": self.output_format.to_openai(), "voice": self.voice, "speed": 1.0},
            },
        }
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.reasoning is not None:
            out["reasoning"] = copy.deepcopy(self.reasoning)
        return out

    # ------------------------------------------------------------------ updates

    def apply(self, session: dict[str, Any], event_id: str | None = None) -> list[Unsupported]:
        """Apply a GA ``session.update`` payload (only the keys present change).

        :return: the settings that are valid but cannot be applied on Gemini
            Live (they are left unchanged).
        :raises ClientEventError: an invalid value; nothing is applied.
        """
        new = self.copy()
        unsupported: list[Unsupported] = []
        p = _Checker(event_id)

        kind = session.get("type", "realtime")
        if kind == "transcription":
            raise UnsupportedEventError(
                "Transcription sessions are not available on Gemini Live; use a realtime session "
                "with audio.input.transcription instead.",
                param="session.type", event_id=event_id,
            )
        if kind != "realtime":
            raise p.fail(f"Invalid session type {kind!r}: expected 'realtime'.", "session.type")

        if "instructions" in session:
            v = session["instructions"]
            new.instructions = "" if v is None else p.string(v, "session.instructions")
        if "output_modalities" in session and session["output_modalities"] is not None:
            new.output_modalities = p.modalities(session["output_modalities"], "session.output_modalities")
        if "max_output_tokens" in session:
            new.max_output_tokens = p.max_tokens(session["max_output_tokens"], "session.max_output_tokens")
        if "temperature" in session and session["temperature"] is not None:
            new.temperature = p.number(session["temperature"], "session.temperature", 0.0, 2.0)
        if "tools" in session:
            tools, bad = p.tools(session["tools"], "session.tools")
            new.tools = tools
            unsupported += bad
        if "tool_choice" in session and session["tool_choice"] is not None:
            choice, refused = p.tool_choice(session["tool_choice"], "session.tool_choice")
            if refused is None:
                new.tool_choice = choice
            else:
                unsupported.append(refused)
        if "truncation" in session and session["truncation"] is not None:
            new.truncation = p.truncation(session["truncation"], "session.truncation")
        if "reasoning" in session:
            r = session["reasoning"]
            if r is not None:
                if not isinstance(r, dict):
                    raise p.fail("reasoning must be an object", "session.reasoning")
                effort = r.get("effort")
                if effort is not None and effort not in _EFFORT_TO_LEVEL:
                    raise p.fail(f"Invalid reasoning effort {effort!r}.", "session.reasoning.effort")
            new.reasoning = r
        if session.get("prompt") is not None:
            unsupported.append(Unsupported("session.prompt", "Stored prompts are an OpenAI platform feature; Gemini Live cannot use them."))
        if session.get("include"):
            unsupported.append(Unsupported("session.include", "Gemini Live gives no transcription logprobs."))
        if session.get("parallel_tool_calls") is False:
            unsupported.append(Unsupported("session.parallel_tool_calls", "Gemini Live cannot be told to avoid parallel function calls."))

        audio = session.get("audio")
        if audio is not None:
            if not isinstance(audio, dict):
                raise p.fail("audio must be an object", "session.audio")
            unsupported += new._apply_audio(audio, p)

        if new.tool_choice_name() is not None and new.tool_choice_name() not in {t["name"] for t in new.tools}:
            raise p.fail(
                f"tool_choice names the function {new.tool_choice_name()!r}, which is not in tools.",
                "session.tool_choice",
            )
        self.__dict__.update(new.__dict__)
        return unsupported

    def _apply_audio(self, audio: dict[str, Any], p: _Checker) -> list[Unsupported]:
        unsupported: list[Unsupported] = []
        inp = audio.get("input")
        if inp is not None:
            if not isinstance(inp, dict):
                raise p.fail("audio.input must be an object", "session.audio.input")
            if inp.get("format") is not None:
                self.input_format = p.audio_format(inp["format"], "session.audio.input.format")
            if "transcription" in inp:
                t = inp["transcription"]
                if t is not None and not isinstance(t, dict):
                    raise p.fail("transcription must be an object or null", "session.audio.input.transcription")
                self.transcription = t
            nr = inp.get("noise_reduction")
            if nr is not None:
                unsupported.append(Unsupported(
                    "session.audio.input.noise_reduction", "Gemini Live has no input noise reduction setting."))
            if "turn_detection" in inp:
                td, bad = p.turn_detection(inp["turn_detection"], "session.audio.input.turn_detection")
                self.turn_detection = td
                unsupported += bad
        out = audio.get("output")
        if out is not None:
            if not isinstance(out, dict):
                raise p.fail("audio.output must be an object", "session.audio.output")
            if out.get("format") is not None:
                self.output_format = p.audio_format(out["format"], "session.audio.output.format")
            if out.get("voice") is not None:
                v = out["voice"]
                if isinstance(v, dict):
                    unsupported.append(Unsupported("session.audio.output.voice", "Custom voices are not available on Gemini Live."))
                else:
                    self.voice = p.string(v, "session.audio.output.voice").strip() or self.voice
            speed = out.get("speed")
            if speed is not None and speed != 1 and speed != 1.0:
                unsupported.append(Unsupported("session.audio.output.speed", "Gemini Live cannot change the speaking speed."))
        return unsupported

    # ------------------------------------------------------------------ tools

    def tool_choice_name(self) -> str | None:
        tc = self.tool_choice
        if isinstance(tc, dict) and tc.get("type") == "function":
            name = tc.get("name")
            return name if isinstance(name, str) else None
        return None

    # ------------------------------------------------------------------ Gemini setup

    def setup(self, opts: SetupOptions, handle: str | None = None) -> wire.Setup:
        """The ``setup`` message for this configuration (resuming ``handle`` if given)."""
        audio = self.audio_out
        speech = None
        if audio:
            speech = wire.SpeechConfig(
                voice_config=wire.VoiceConfig(prebuilt_voice_config=wire.PrebuiltVoiceConfig(voice_name=gemini_voice(self.voice))),
                language_code=opts.language,
            )
        temperature = self.temperature if self.temperature is not None else opts.temperature
        thinking = None
        if self.reasoning and self.reasoning.get("effort"):
            thinking = wire.ThinkingConfig(thinking_level=_EFFORT_TO_LEVEL[self.reasoning["effort"]])  # type: ignore[arg-type]
        gen = wire.GenerationConfig(
            response_modalities=["AUDIO" if audio else "TEXT"],
            speech_config=speech,
            temperature=temperature,
            max_output_tokens=self.max_output_tokens if isinstance(self.max_output_tokens, int) else None,
            thinking_config=thinking,
        )

        text = self.instructions
        named = self.tool_choice_name()
        if self.tools and self.tool_choice == "required":
            text = f"{text}\n\n{REQUIRED_TOOL_INSTRUCTION}" if text else REQUIRED_TOOL_INSTRUCTION
        elif named is not None:
            extra = _named_tool_instruction(named)
            text = f"{text}\n\n{extra}" if text else extra
        system = wire.Content(role="user", parts=[wire.Part(text=text)]) if text else None

        tools = None
        declared = [t for t in self.tools if named is None or t["name"] == named]
        if declared:
            tools = [wire.Tool(function_declarations=[
                wire.FunctionDeclaration(
                    name=t["name"], description=t.get("description") or None,
                    parameters_json_schema=t.get("parameters") if t.get("parameters") else None,
                )
                for t in declared
            ])]

        td = self.turn_detection
        if td is None:
            ric = wire.RealtimeInputConfig(automatic_activity_detection=wire.AutomaticActivityDetection(disabled=True))
        else:
            aad = wire.AutomaticActivityDetection()
            threshold = td.get("threshold")
            if isinstance(threshold, (int, float)):
                if threshold >= 0.6:
                    aad.start_of_speech_sensitivity = "START_SENSITIVITY_LOW"
                elif threshold <= 0.4:
                    aad.start_of_speech_sensitivity = "START_SENSITIVITY_HIGH"
            if td.get("prefix_padding_ms") is not None:
                aad.prefix_padding_ms = td["prefix_padding_ms"]
            if td.get("silence_duration_ms") is not None:
                aad.silence_duration_ms = td["silence_duration_ms"]
            eagerness = td.get("eagerness")
            if eagerness == "high":
                aad.end_of_speech_sensitivity = "END_SENSITIVITY_HIGH"
            elif eagerness == "low":
                aad.end_of_speech_sensitivity = "END_SENSITIVITY_LOW"
            ric = wire.RealtimeInputConfig(
                automatic_activity_detection=aad if aad.wire() else None,
                activity_handling="NO_INTERRUPTION" if td.get("interrupt_response") is False else None,
            )
            if not ric.wire():
                ric = None

        compression = None
        if opts.context_window_compression and self.truncation != "disabled":
            trigger = None
            if isinstance(self.truncation, dict):
                limits = self.truncation.get("token_limits")
                if isinstance(limits, dict) and isinstance(limits.get("post_instructions"), int):
                    trigger = limits["post_instructions"]
            compression = wire.ContextWindowCompressionConfig(trigger_tokens=trigger, sliding_window=wire.SlidingWindow())

        return wire.Setup(
            model=opts.model,
            generation_config=gen,
            system_instruction=system,
            tools=tools,
            realtime_input_config=ric,
            input_audio_transcription=wire.AudioTranscriptionConfig(),
            output_audio_transcription=wire.AudioTranscriptionConfig() if audio else None,
            session_resumption=wire.SessionResumptionConfig(handle=handle),
            context_window_compression=compression,
        )


class _Checker:
    """Validation helpers raising :class:`ClientEventError` with the client's param path."""

    def __init__(self, event_id: str | None) -> None:
        self.event_id = event_id

    def fail(self, message: str, param: str) -> ClientEventError:
        return ClientEventError(message, code="invalid_value", param=param, event_id=self.event_id)

    def string(self, v: Any, param: str) -> str:
        if not isinstance(v, str):
            raise self.fail(f"Expected a string, got {type(v).__name__}.", param)
        return v

    def number(self, v: Any, param: str, lo: float, hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise self.fail(f"Expected a number from {lo:g} to {hi:g}, got {v!r}.", param)
        return float(v)

    def integer(self, v: Any, param: str, lo: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise self.fail(f"Expected an integer of at least {lo}, got {v!r}.", param)
        return v

    def modalities(self, v: Any, param: str) -> list[str]:
        if not isinstance(v, list) or not v or any(m not in ("text", "audio") for m in v):
            raise self.fail("output_modalities must be ['text'] or ['audio'].", param)
        # Gemini allows one response modality; audio comes with its transcript.
        return ["audio"] if "audio" in v else ["text"]

    def max_tokens(self, v: Any, param: str) -> int | str:
        if v is None or v == "inf":
            return "inf"
        return self.integer(v, param, 1)

    def audio_format(self, v: Any, param: str) -> AudioFormat:
        try:
            return AudioFormat.from_openai(v)
        except ValueError as exc:
            raise self.fail(str(exc), param) from None

    def tools(self, v: Any, param: str) -> tuple[list[dict[str, Any]], list[Unsupported]]:
        if v is None:
            return [], []
        if not isinstance(v, list):
            raise self.fail("tools must be a list", param)
        out: list[dict[str, Any]] = []
        bad: list[Unsupported] = []
        names: set[str] = set()
        for i, tool in enumerate(v):
            if not isinstance(tool, dict):
                raise self.fail("each tool must be an object", f"{param}[{i}]")
            kind = tool.get("type", "function")
            if kind != "function":
                bad.append(Unsupported(f"{param}[{i}]", f"{kind!r} tools are not available on Gemini Live; only function tools are."))
                continue
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                raise self.fail("a function tool needs a name", f"{param}[{i}].name")
            if name in names:
                raise self.fail(f"duplicate function name {name!r}", f"{param}[{i}].name")
            names.add(name)
            params = tool.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise self.fail("parameters must be a JSON Schema object", f"{param}[{i}].parameters")
            desc = tool.get("description")
            if desc is not None and not isinstance(desc, str):
                raise self.fail("description must be a string", f"{param}[{i}].description")
            out.append({"type": "function", "name": name, "description": desc or "", "parameters": params or {}})
        return out, bad

    def tool_choice(self, v: Any, param: str) -> tuple[str | dict[str, Any], Unsupported | None]:
        if v in ("auto", "none", "required"):
            return v, None
        if isinstance(v, dict):
            if v.get("type") == "function" and isinstance(v.get("name"), str):
                return {"type": "function", "name": v["name"]}, None
            if v.get("type") == "mcp":
                return "auto", Unsupported(param, "MCP tools are not available on Gemini Live.")
        raise self.fail(f"Invalid tool_choice {v!r}.", param)

    def truncation(self, v: Any, param: str) -> str | dict[str, Any]:
        if v in ("auto", "disabled"):
            return str(v)
        if isinstance(v, dict) and v.get("type") == "retention_ratio":
            return dict(v)
        raise self.fail(f"Invalid truncation {v!r}.", param)

    def turn_detection(self, v: Any, param: str) -> tuple[dict[str, Any] | None, list[Unsupported]]:
        if v is None:
            return None, []
        if not isinstance(v, dict):
            raise self.fail("turn_detection must be an object or null", param)
        kind = v.get("type", "server_vad")
        if kind not in ("server_vad", "semantic_vad"):
            raise self.fail(f"Invalid turn_detection type {kind!r}.", f"{param}.type")
        out: dict[str, Any] = {"type": kind}
        bad: list[Unsupported] = []
        for key in ("create_response", "interrupt_response"):
            val = v.get(key)
            if val is not None and not isinstance(val, bool):
                raise self.fail(f"{key} must be a boolean", f"{param}.{key}")
            out[key] = True if val is None else val
        if kind == "server_vad":
            if v.get("threshold") is not None:
                out["threshold"] = self.number(v["threshold"], f"{param}.threshold", 0.0, 1.0)
            for key in ("prefix_padding_ms", "silence_duration_ms"):
                if v.get(key) is not None:
                    out[key] = self.integer(v[key], f"{param}.{key}", 0)
            if v.get("idle_timeout_ms") is not None:
                bad.append(Unsupported(f"{param}.idle_timeout_ms", "Gemini Live has no idle timeout for the user's turn."))
        else:
            e = v.get("eagerness")
            if e is not None:
                if e not in _EAGERNESS:
                    raise self.fail(f"Invalid eagerness {e!r}.", f"{param}.eagerness")
                out["eagerness"] = e
        return out, bad

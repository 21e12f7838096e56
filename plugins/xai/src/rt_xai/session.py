"""Session objects and items between OpenAI's GA shape and xAI's.

xAI's session is GA-shaped except that ``voice`` and ``turn_detection`` sit at
the top level of the session (GA nests them as ``audio.output.voice`` and
``audio.input.turn_detection``), turn detection is ``server_vad`` or ``null``
only, input transcription takes ``language_hint``/``keyterms``, and PCM may
use other sample rates than 24 kHz.  Items may spell assistant content
``text``/``audio`` where GA says ``output_text``/``output_audio``.

Everything here is a pure function of plain JSON dicts; inputs are never
mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rt_core import ClientEventError

from .voices import XAI_DEFAULT_VOICE, to_xai_voice

__all__ = [
    "DEFAULT_PCM",
    "PCM_RATE_RANGE",
    "default_ga_session",
    "input_bytes_per_ms",
    "item_to_ga",
    "response_params_to_xai",
    "response_to_ga",
    "session_to_ga",
    "session_to_xai",
]

Json = dict[str, Any]

#: OpenAI's PCM: 16-bit little-endian mono at 24 kHz.  xAI's default too.
DEFAULT_PCM: Json = {"type": "audio/pcm", "rate": 24000}
#: xAI accepts PCM from 8 to 48 kHz (8000, 16000, 22050/21050, 24000, 32000, 44100, 48000 are listed).
PCM_RATE_RANGE = (8000, 48000)
_G711 = ("audio/pcmu", "audio/pcma")


# --------------------------------------------------------------------------- client → xAI


def _format_to_xai(fmt: Any, param: str, event_id: str | None) -> Any:
    """Pass the client's format through when xAI has it natively (no resampling)."""
    if not isinstance(fmt, dict):
        raise ClientEventError(f"{param} must be an object like {DEFAULT_PCM}.", code="invalid_value",
                               param=param, event_id=event_id)
    kind = fmt.get("type")
    if kind == "audio/pcm":
        rate = fmt.get("rate")
        if rate is None:
            return {**fmt, "rate": 24000}  # OpenAI's implied rate, stated so xAI cannot differ
        if not isinstance(rate, int) or not PCM_RATE_RANGE[0] <= rate <= PCM_RATE_RANGE[1]:
            raise ClientEventError(
                f"xAI takes PCM audio at 8000 to 48000 Hz (24000 is OpenAI's rate); {rate!r} is not supported.",
                code="invalid_value", param=f"{param}.rate", event_id=event_id)
        return fmt
    if kind in _G711:
        return fmt
    raise ClientEventError(
        f"Unsupported audio format {kind!r}: xAI takes 'audio/pcm', 'audio/pcmu' or 'audio/pcma'.",
        code="invalid_value", param=f"{param}.type", event_id=event_id)


def _turn_detection_to_xai(td: Any, semantic_vad: str, event_id: str | None) -> Any:
    param = "session.audio.input.turn_detection"
    if td is None:
        return None  # manual turns: commit + response.create
    if not isinstance(td, dict):
        raise ClientEventError("turn_detection must be an object or null.", code="invalid_value",
                               param=param, event_id=event_id)
    kind = td.get("type", "server_vad")
    if kind == "server_vad":
        return td
    if kind == "semantic_vad":
        if semantic_vad != "server_vad":
            raise ClientEventError(
                "xAI has no semantic_vad turn detection: use server_vad, or null for manual turns "
                "(a deployment can set semantic_vad: server_vad to substitute it).",
                code="invalid_value", param=f"{param}.type", event_id=event_id)
        kept = {k: v for k, v in td.items() if k in ("create_response", "interrupt_response")}
        return {"type": "server_vad", **kept}
    raise ClientEventError(f"Unknown turn_detection type {kind!r}: xAI supports server_vad or null.",
                           code="invalid_value", param=f"{param}.type", event_id=event_id)


def _transcription_to_xai(tr: Any) -> Any:
    """GA ``audio.input.transcription`` → xAI's.

    ``model`` is not sent: xAI picks its own transcriber, and naming one
    switches xAI to interim ``…transcription.updated`` events that OpenAI
    clients do not know.  ``language``→``language_hint``,
    ``keywords``→``keyterms``.
    """
    if not isinstance(tr, dict):
        return tr
    out: Json = {}
    for key, value in tr.items():
        if key == "model":
            continue
        if key == "language":
            out.setdefault("language_hint", value)
        elif key == "keywords":
            out.setdefault("keyterms", value)
        else:
            out[key] = value
    return out


def session_to_xai(
    session: Json,
    *,
    voices: Mapping[str, str],
    semantic_vad: str = "reject",
    event_id: str | None = None,
) -> Json:
    """A GA ``session.update.session`` → xAI's session.

    :raises ClientEventError: a value xAI cannot take (semantic VAD when
        rejected, a transcription-only session, an audio format it lacks).
    """
    if session.get("type") == "transcription":
        raise ClientEventError("xAI has no transcription-only sessions; use session.type 'realtime'.",
                               code="invalid_value", param="session.type", event_id=event_id)
    # ``model`` is the deployment's choice (it is in the URL); ``temperature`` is not GA.
    out: Json = {k: v for k, v in session.items() if k not in ("audio", "model", "temperature")}
    audio = session.get("audio")
    if isinstance(audio, dict):
        new_audio: Json = {}
        for side in ("input", "output"):
            part = audio.get(side)
            if not isinstance(part, dict):
                if side in audio:
                    new_audio[side] = part
                continue
            part = dict(part)
            param = f"session.audio.{side}"
            if side == "input" and "turn_detection" in part:
                out["turn_detection"] = _turn_detection_to_xai(part.pop("turn_detection"), semantic_vad, event_id)
            if side == "output" and "voice" in part:
                out["voice"] = to_xai_voice(part.pop("voice"), voices)
            if part.get("format") is not None:
                part["format"] = _format_to_xai(part["format"], f"{param}.format", event_id)
            if "transcription" in part:
                part["transcription"] = _transcription_to_xai(part["transcription"])
            if part:
                new_audio[side] = part
        if new_audio:
            out["audio"] = new_audio
    return out


def response_params_to_xai(response: Json, *, voices: Mapping[str, str], event_id: str | None = None) -> Json:
    """``response.create.response``: the voice is mapped like the session's."""
    audio = response.get("audio")
    out_audio = audio.get("output") if isinstance(audio, dict) else None
    if not isinstance(out_audio, dict):
        return response
    new_out = dict(out_audio)
    if "voice" in new_out:
        new_out["voice"] = to_xai_voice(new_out["voice"], voices)
    if new_out.get("format") is not None:
        new_out["format"] = _format_to_xai(new_out["format"], "response.audio.output.format", event_id)
    return {**response, "audio": {**audio, "output": new_out}}  # type: ignore[dict-item]


# --------------------------------------------------------------------------- xAI → client


def _turn_detection_to_ga(td: Any) -> Any:
    if not isinstance(td, dict):
        return None
    if td.get("type") is None:
        return None if "type" in td else {"type": "server_vad", **td}
    return td


def _transcription_to_ga(tr: Any) -> Any:
    if not isinstance(tr, dict):
        return tr
    out = {k: v for k, v in tr.items() if k != "language_hint"}
    if "language_hint" in tr:
        out.setdefault("language", tr["language_hint"])
    return out


def session_to_ga(session: Json) -> Json:
    """An xAI session (``session.created/updated``) → a GA realtime session."""
    out: Json = {"type": "realtime", "object": "realtime.session"}
    audio_in: Json = {}
    audio_out: Json = {}
    audio = session.get("audio")
    if isinstance(audio, dict):
        if isinstance(audio.get("input"), dict):
            audio_in.update(audio["input"])
        if isinstance(audio.get("output"), dict):
            audio_out.update(audio["output"])
    for key, value in session.items():
        if key in ("type", "audio"):
            continue
        if key == "voice":
            audio_out["voice"] = value
        elif key == "turn_detection":
            audio_in["turn_detection"] = _turn_detection_to_ga(value)
        elif key == "modalities":
            if "output_modalities" not in session and isinstance(value, list):
                out["output_modalities"] = ["audio"] if "audio" in value else ["text"]
        else:
            out[key] = value
    if "transcription" in audio_in:
        audio_in["transcription"] = _transcription_to_ga(audio_in["transcription"])
    if audio_in or audio_out:
        out["audio"] = {}
        if audio_in:
            out["audio"]["input"] = audio_in
        if audio_out:
            out["audio"]["output"] = audio_out
    return out


def default_ga_session(model: str, session_id: str) -> Json:
    """The session rt announces in the ``session.created`` it synthesises
    (xAI's first event is ``conversation.created``): xAI's documented
    defaults.  The first ``session.updated`` carries xAI's actual values."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "audio": {
            "input": {"format": dict(DEFAULT_PCM), "transcription": None, "noise_reduction": None,
                      "turn_detection": {"type": "server_vad"}},
            "output": {"format": dict(DEFAULT_PCM), "voice": XAI_DEFAULT_VOICE, "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
    }


def input_bytes_per_ms(session: Json) -> float | None:
    """Bytes per millisecond of the session's input audio, if it says."""
    audio = session.get("audio")
    inp = audio.get("input") if isinstance(audio, dict) else None
    fmt = inp.get("format") if isinstance(inp, dict) else None
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") in _G711:
        return 8.0
    if fmt.get("type") == "audio/pcm":
        rate = fmt.get("rate") or 24000
        if isinstance(rate, (int, float)) and rate > 0:
            return rate * 2 / 1000
    return None


_CONTENT_TO_GA = {
    "assistant": {"text": "output_text", "audio": "output_audio"},
    "user": {"text": "input_text", "audio": "input_audio"},
    "system": {"text": "input_text"},
}


def item_to_ga(item: Any) -> Any:
    """An xAI conversation item → a GA item (the same object when unchanged)."""
    if not isinstance(item, dict):
        return item
    kind = item.get("type")
    if kind == "message":
        content = item.get("content")
        table = _CONTENT_TO_GA.get(item.get("role"), {})  # type: ignore[arg-type]
        if content is None:
            return {**item, "content": []}
        if isinstance(content, list) and any(
            isinstance(c, dict) and c.get("type") in table for c in content
        ):
            return {**item, "content": [
                {**c, "type": table[c["type"]]} if isinstance(c, dict) and c.get("type") in table else c
                for c in content
            ]}
        return item
    if kind == "function_call":
        missing = {k: "" for k in ("arguments", "name") if item.get(k) is None}
        return {**item, **missing} if missing else item
    return item


def response_to_ga(response: Any, top_usage: Any = None) -> Any:
    """An xAI ``response`` object → GA: output items normalised, and the
    usage xAI puts at the top level of ``response.done`` moved inside."""
    if not isinstance(response, dict):
        return response
    out = dict(response)
    output = response.get("output")
    if isinstance(output, list):
        out["output"] = [item_to_ga(i) for i in output]
    if "modalities" in out and "output_modalities" not in out:
        mods = out.pop("modalities")
        if isinstance(mods, list):
            out["output_modalities"] = ["audio"] if "audio" in mods else ["text"]
    usage = response.get("usage")
    if isinstance(top_usage, dict) and top_usage:
        if isinstance(usage, dict) and usage:
            out["usage"] = {**top_usage, **{k: v for k, v in usage.items() if v is not None}}
        else:
            out["usage"] = top_usage
    return out

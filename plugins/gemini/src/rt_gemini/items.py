"""OpenAI conversation items → Gemini ``Content`` turns and function responses.

==============================================  ===============================================
OpenAI item (``conversation.item.create``)      Gemini
==============================================  ===============================================
user ``input_text``                             ``{"role": "user", "parts": [{"text": …}]}``
user ``input_audio`` (base64 in the session's   ``inlineData`` pcm16 at the input rate rt
input format)                                   sends Gemini (``audio/pcm;rate=<rate>``, see
                                                :mod:`rt_gemini.input_audio`), or the
                                                transcript when no audio
user ``input_image`` (``data:`` URL)            ``inlineData`` with the image's MIME type
system ``input_text``                           a user turn (Gemini turns are user or model)
assistant ``output_text`` / ``output_audio``    ``{"role": "model", "parts": [{"text": …}]}``
(transcript)
``function_call``                               model turn with a ``functionCall`` part
``function_call_output`` for a Gemini call      ``toolResponse.functionResponses[]``
``function_call_output`` for a history call     user turn with a ``functionResponse`` part
==============================================  ===============================================

A function output is a string in OpenAI and an object in Gemini: a JSON object
is passed as it is, anything else becomes ``{"output": <parsed JSON or the string>}``
(Google's documented convention).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from rt_core import ClientEventError
from rt_core.audio import AudioFormat

from .input_audio import InputAudio, decode_b64
from .wire import input_audio_mime

__all__ = ["item_to_content", "public_item", "function_response_payload", "parse_arguments"]


def _fail(message: str, param: str, event_id: str | None, code: str = "invalid_value") -> ClientEventError:
    return ClientEventError(message, code=code, param=param, event_id=event_id)


def function_response_payload(output: Any) -> dict[str, Any]:
    """The ``response`` object of a Gemini ``FunctionResponse`` for an OpenAI output string."""
    if isinstance(output, str):
        try:
            value = json.loads(output)
        except ValueError:
            return {"output": output}
    else:
        value = output
    if isinstance(value, dict):
        return value
    return {"output": value}


def parse_arguments(arguments: Any, param: str, event_id: str | None) -> dict[str, Any]:
    if arguments in (None, ""):
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        raise _fail("arguments must be a JSON object string", param, event_id) from None
    if not isinstance(value, dict):
        raise _fail("arguments must be a JSON object string", param, event_id)
    return value


def _image_part(url: Any, param: str, event_id: str | None) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith("data:"):
        raise _fail(
            "Gemini Live takes images inline only: send image_url as a data: URL "
            "(data:image/jpeg;base64,...).", param, event_id, code="unsupported_value")
    header, _, data = url.partition(",")
    mime = header[5:].split(";")[0] or "image/jpeg"
    if ";base64" not in header:
        raise _fail("the image data: URL must be base64-encoded", param, event_id)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("the image data is not valid base64", param, event_id) from None
    return {"inlineData": {"mimeType": mime, "data": data}}


def _audio_part(audio: str, input_format: AudioFormat, upstream_format: AudioFormat, param: str,
                event_id: str | None) -> dict[str, Any]:
    conv = InputAudio(input_format, upstream_format.rate)
    try:
        raw = decode_b64(audio)
    except ValueError:
        raise _fail("audio is not valid base64", param, event_id) from None
    pcm = conv.convert(raw) + conv.flush()
    return {"inlineData": {"mimeType": input_audio_mime(conv.dst.rate),
                           "data": base64.b64encode(pcm).decode("ascii")}}


def item_to_content(
    item: dict[str, Any], *, input_format: AudioFormat, upstream_format: AudioFormat, event_id: str | None,
    call_names: dict[str, str],
) -> dict[str, Any]:
    """The Gemini ``Content`` (wire dict) for a message / function_call / history output item.

    :param input_format: the client's input audio format (of ``input_audio`` parts).
    :param upstream_format: the pcm16 format Gemini is sent input audio in.
    :param call_names: call_id → function name, for history function outputs.
    :raises ClientEventError: content Gemini cannot take, naming the field.
    """
    kind = item.get("type")
    if kind == "function_call":
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _fail("a function_call item needs a name", "item.name", event_id)
        call: dict[str, Any] = {"name": name, "args": parse_arguments(item.get("arguments"), "item.arguments", event_id)}
        if isinstance(item.get("call_id"), str):
            call["id"] = item["call_id"]
        return {"role": "model", "parts": [{"functionCall": call}]}
    if kind == "function_call_output":
        call_id = item.get("call_id")
        name = call_names.get(call_id, "function") if isinstance(call_id, str) else "function"
        resp: dict[str, Any] = {"name": name, "response": function_response_payload(item.get("output"))}
        if isinstance(call_id, str):
            resp["id"] = call_id
        return {"role": "user", "parts": [{"functionResponse": resp}]}
    if kind != "message":
        raise _fail(f"Item type {kind!r} is not available on Gemini Live.", "item.type", event_id, code="unsupported_value")

    role = item.get("role")
    content = item.get("content")
    if not isinstance(content, list) or not content:
        raise _fail("a message item needs a non-empty content list", "item.content", event_id)
    parts: list[dict[str, Any]] = []
    for i, c in enumerate(content):
        param = f"item.content[{i}]"
        if not isinstance(c, dict):
            raise _fail("each content part must be an object", param, event_id)
        ctype = c.get("type")
        if role in ("user", "system") and ctype == "input_text":
            parts.append({"text": _text(c.get("text"), f"{param}.text", event_id)})
        elif role == "user" and ctype == "input_audio":
            audio = c.get("audio")
            if isinstance(audio, str) and audio:
                parts.append(_audio_part(audio, input_format, upstream_format, f"{param}.audio", event_id))
            elif isinstance(c.get("transcript"), str) and c["transcript"]:
                parts.append({"text": c["transcript"]})
            else:
                raise _fail("input_audio needs audio (base64) or a transcript", f"{param}.audio", event_id)
        elif role == "user" and ctype == "input_image":
            parts.append(_image_part(c.get("image_url"), f"{param}.image_url", event_id))
        elif role == "assistant" and ctype == "output_text":
            parts.append({"text": _text(c.get("text"), f"{param}.text", event_id)})
        elif role == "assistant" and ctype == "output_audio":
            transcript = c.get("transcript")
            if not isinstance(transcript, str) or not transcript:
                raise _fail(
                    "Gemini Live history takes assistant audio as its transcript: give output_audio a transcript.",
                    f"{param}.transcript", event_id, code="unsupported_value")
            parts.append({"text": transcript})
        else:
            raise _fail(f"Content type {ctype!r} is not valid for a {role!r} message.", f"{param}.type", event_id)
    if role not in ("user", "system", "assistant"):
        raise _fail(f"Invalid role {role!r}.", "item.role", event_id)
    return {"role": "model" if role == "assistant" else "user", "parts": parts}


def _text(v: Any, param: str, event_id: str | None) -> str:
    if not isinstance(v, str):
        raise _fail("text must be a string", param, event_id)
    return v


def public_item(item: dict[str, Any], item_id: str) -> dict[str, Any]:
    """The item as server events show it: id, object, status, and no audio data."""
    out = {k: v for k, v in item.items() if k != "content"}
    out["id"] = item_id
    out["object"] = "realtime.item"
    out["status"] = "completed"
    if isinstance(item.get("content"), list):
        content = []
        for c in item["content"]:
            if isinstance(c, dict) and c.get("type") == "input_audio":
                c = {"type": "input_audio", "transcript": c.get("transcript")}
            content.append(c)
        out["content"] = content
    return out

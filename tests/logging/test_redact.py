"""Redaction: no audio, no base64 payload, no credential in any log record."""

from __future__ import annotations

import base64
import copy
import json
import os

from rt_core.eventlog import redact

AUDIO = base64.b64encode(os.urandom(4800)).decode()
SHORT_AUDIO = base64.b64encode(os.urandom(30)).decode()  # 40 chars: too short to look like base64


def test_audio_append_is_replaced_by_its_length():
    ev = {"type": "input_audio_buffer.append", "event_id": "e1", "audio": AUDIO}
    out = redact(ev, "input_audio_buffer.append")
    assert out == {"type": "input_audio_buffer.append", "event_id": "e1", "audio": "<base64: 4800 bytes>"}


def test_short_audio_is_replaced_too():
    assert redact({"audio": SHORT_AUDIO})["audio"] == "<base64: 30 bytes>"
    out = redact({"type": "response.output_audio.delta", "delta": SHORT_AUDIO}, "response.output_audio.delta")
    assert out["delta"] == "<base64: 30 bytes>"


def test_text_is_kept():
    long_text = "word " * 200
    ev = {"type": "response.output_text.delta", "delta": long_text}
    assert redact(ev, "response.output_text.delta") == ev
    tr = {"type": "response.output_audio_transcript.delta", "delta": "Hello there"}
    assert redact(tr, tr["type"]) == tr


def test_nested_audio_content_and_images():
    png = "data:image/png;base64," + base64.b64encode(os.urandom(3000)).decode()
    ev = {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": AUDIO, "transcript": "hi"},
        {"type": "input_image", "image_url": png},
        {"type": "input_text", "text": "what is this?"},
    ]}}
    out = redact(ev, ev["type"])
    content = out["item"]["content"]
    assert content[0] == {"type": "input_audio", "audio": "<base64: 4800 bytes>", "transcript": "hi"}
    assert content[1]["image_url"].startswith("<image/png data URL, base64: ")
    assert content[2]["text"] == "what is this?"
    assert AUDIO[:40] not in json.dumps(out)


def test_any_long_base64_string_is_replaced():
    blob = base64.b64encode(os.urandom(600)).decode()
    out = redact({"type": "x", "metadata": {"blob": blob}})
    assert out["metadata"]["blob"] == "<base64: 600 bytes>"


def test_credentials_are_redacted():
    ev = {"type": "session.update", "session": {"type": "realtime", "tools": [
        {"type": "mcp", "server_label": "s", "server_url": "https://mcp.example", "authorization": "Bearer tok-123",
         "headers": {"X-Api-Key": "k-456"}},
    ]}, "client_secret": {"value": "ek_789", "expires_at": 1}}
    out = redact(ev, ev["type"])
    text = json.dumps(out)
    assert "tok-123" not in text and "k-456" not in text and "ek_789" not in text
    assert out["session"]["tools"][0]["server_url"] == "https://mcp.example"
    assert out["session"]["tools"][0]["authorization"] == "<redacted>"


def test_redact_returns_a_copy():
    ev = {"type": "input_audio_buffer.append", "audio": AUDIO, "nested": {"audio": AUDIO}}
    before = copy.deepcopy(ev)
    redact(ev, ev["type"])
    assert ev == before

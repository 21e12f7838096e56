"""Audio appends recognised without a JSON parse give exactly what the parse gives.

``rt_core.events.plain_append`` skips ``json.loads`` for the common spelling of
``input_audio_buffer.append``; every frame must still come out of the client
edge as the full parse would have it (same data, same forwarded text), or be
refused with the same error.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator

import pytest

from rt_core import ClientEventError
from rt_core.edge import ClientEdge
from rt_core.events import append_audio_span, plain_append

AUDIO = base64.b64encode(bytes(range(256)) * 4).decode()
COMPACT = '{"type":"input_audio_buffer.append","audio":"%s"}'
SPACED = '{"type": "input_audio_buffer.append", "audio": "%s"}'


def through_edge(text: str) -> tuple[str, object, str | None] | tuple[str, str]:
    """What the client edge makes of ``text``: (type, data, forwarded text) or ("error", code)."""
    edge = ClientEdge("ga", max_event_bytes=1 << 24, ids=lambda prefix: "id")
    try:
        events, actions = edge.inbound(text)
    except ClientEventError as exc:
        return "error", exc.code
    assert actions == []
    (event,) = events
    return event.type, event.data, event.text


def by_full_parse(text: str) -> tuple[str, object, str | None] | tuple[str, str]:
    """The reference: what ``json.loads`` says about ``text``."""
    try:
        data = json.loads(text)
    except ValueError:
        return "error", "invalid_json"
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
        return "error", "not an event"
    return data["type"], data, text


@pytest.mark.parametrize("spelling", [
    COMPACT, SPACED,
    '{"type":"input_audio_buffer.append","audio":"%s","event_id":"evt_1"}',
    '{"type": "input_audio_buffer.append", "audio": "%s", "event_id": "évt 1"}',
    '{"type":"input_audio_buffer.append","audio":"%s" ,\n "event_id" : "e"\r\n}',
])
def test_the_usual_spellings_skip_the_parse_and_match_it(spelling):
    text = spelling % AUDIO
    event = plain_append(text)
    assert event is not None
    assert event.data == json.loads(text)
    assert event.text == text
    assert through_edge(text) == by_full_parse(text)


@pytest.mark.parametrize(
    "text",
    [
        COMPACT % "",
        '{"type":"input_audio_buffer.append","audio":"}',  # truncated: the head's quote is not a string end
        '{"type":"input_audio_buffer.append","audio":"',
        COMPACT % "ab\\/cd",  # an escape: the value is "ab/cd"
        COMPACT % "ab\\u0041",
        COMPACT % "ab\x01cd",  # a raw control character: not JSON
        COMPACT % "ab\tcd",
        COMPACT % "ab\x7fcd",  # DEL is allowed in a JSON string
        COMPACT % 'abc"},"x":"y',  # ends in "} but the string ended early: not JSON
        '{"type":"input_audio_buffer.append","audio":"abc","audio":"def"}',  # duplicate key: the last wins
        '{"type":"input_audio_buffer.append","audio":"abc","event_id":"e1"}',
        '{"type":"input_audio_buffer.append","audio":"abc"} ',
        '{"type":"input_audio_buffer.append","audio":"abc"}x',
        COMPACT % "é",
        COMPACT % "a b c",
        '{"type":"input_audio_buffer.append","audio":"abc" }',
        '{"type":"input_audio_buffer.append","audio":"abc","event_id":"e\\"1"}',  # an escape in the id
        '{"type":"input_audio_buffer.append","audio":"abc","event_id":"e","event_id":"f"}',
        '{"type":"input_audio_buffer.append","audio":"abc",\x0b"event_id":"e"}',  # not JSON whitespace
        '{"type":"input_audio_buffer.append","audio":"abc","event_id":7}',
        '{"type":"input_audio_buffer.append","audio":"abc","event_id":"e"',
        '{"type":"input_audio_buffer.append","audio":"abc\\x"}',  # a bad escape
    ],
)
def test_other_spellings_come_out_as_the_parse_has_them(text):
    assert through_edge(text) == by_full_parse(text)


MUTATED_BASES = (COMPACT % AUDIO[:48],
                 '{"type": "input_audio_buffer.append", "audio": "%s", "event_id": "e1"}' % AUDIO[:48])


def mutations(seed: int, alphabet: list[str], count: int) -> Iterator[str]:
    """``count`` frames per base, each with one or two characters of ``alphabet``
    put in (replacing or inserted), reproducibly from ``seed``."""
    rng = random.Random(seed)
    for base in MUTATED_BASES:
        for _ in range(count):
            chars = list(base)
            for _ in range(rng.randint(1, 2)):
                pos = rng.randrange(len(chars) + 1)
                if rng.random() < 0.5 and pos < len(chars):
                    chars[pos] = rng.choice(alphabet)
                else:
                    chars.insert(pos, rng.choice(alphabet))
            yield "".join(chars)


def test_random_one_or_two_character_changes_come_out_as_the_parse_has_them():
    alphabet = ['"', "\\", "}", "{", ",", " ", "\x00", "\x1f", "\n", "\x7f", "é", "=", "A", "/", ":"]
    for text in mutations(8, alphabet, 2000):
        got, want = through_edge(text), by_full_parse(text)
        if want == ("error", "not an event"):
            # JSON, but not an event: refused (the exact code is test_bad_input's business).
            assert got[0] == "error", text
        else:
            assert got == want, text


# ---------------------------------------------------------------------------- the verbatim route's check

_CONTROL = {chr(c) for c in range(0x20)}


def is_verbatim_append(text: str) -> bool:
    return append_audio_span(text) is not None


def verbatim_reference(text: str) -> bool:
    """What ``append_audio_span`` must say (a span, or None): the frame is an append the full parse
    reads as ``{"type", "audio"[, "event_id"]}`` (both strings) with no escape in
    the audio -- or would be, but for control characters inside the audio, which
    the verbatim route leaves to the upstream's own parse."""
    for head in ('{"type":"input_audio_buffer.append","audio":"', '{"type": "input_audio_buffer.append", "audio": "'):
        if text.startswith(head):
            break
    else:
        return False
    end = text.find('"', len(head))
    if end < 0:
        return False
    audio = text[len(head):end]
    if "\\" in audio:
        return False
    cleaned = head + "".join("A" if ch in _CONTROL else ch for ch in audio) + text[end:]
    try:
        data = json.loads(cleaned)
    except ValueError:
        return False
    keys = set(data) if isinstance(data, dict) else set()
    if keys not in ({"type", "audio"}, {"type", "audio", "event_id"}):
        return False
    if not isinstance(data.get("event_id", ""), str):
        return False
    # A repeated key would make the parse keep the last value: not this frame's audio.
    return cleaned.count('"audio"') == 1 and cleaned.count('"event_id"') <= 1 and cleaned.count('"type"') == 1


@pytest.mark.parametrize("spelling", [
    COMPACT, SPACED,
    '{"type":"input_audio_buffer.append","audio":"%s","event_id":"evt_1"}',
    '{"type": "input_audio_buffer.append", "audio": "%s", "event_id": "évt 1"}',
    '{"type":"input_audio_buffer.append","audio":"%s" ,\n "event_id" : "e"\r\n}',
])
def test_the_verbatim_check_passes_the_usual_spellings(spelling):
    start, end = append_audio_span(spelling % AUDIO)
    assert (spelling % AUDIO)[start:end] == AUDIO


@pytest.mark.parametrize("text", [
    COMPACT % "ab\\/cd",  # an escape: the general path reads it
    '{"type":"input_audio_buffer.append","audio":"',
    '{"type":"input_audio_buffer.append","audio":"abc"} ',
    '{"type":"input_audio_buffer.append","audio":"abc","audio":"def"}',
    '{"type":"input_audio_buffer.append","audio":"abc","event_id":7}',
    '{"type":"input_audio_buffer.append","audio":"abc","event_id":"e","event_id":"f"}',
    COMPACT % 'abc"},"x":"y',
    '{"audio":"abc","type":"input_audio_buffer.append"}',
])
def test_the_verbatim_check_refuses_anything_else(text):
    assert not is_verbatim_append(text)


def test_a_control_character_in_the_audio_is_left_to_the_upstream():
    text = COMPACT % "ab\x01cd"
    assert is_verbatim_append(text)  # forwarded: the upstream's parse refuses it
    assert plain_append(text) is None  # translators never get it: the full parse refuses it


def test_random_changes_get_the_verbatim_check_right():
    """Sound (only real appends, up to control characters in the audio) and as
    complete as plain_append for escape-free frames; what it refuses goes the
    general way, so refusing more would only be slower."""
    alphabet = ['"', "\\", "}", "{", ",", " ", "\x00", "\x1f", "\n", "\x7f", "é", "=", "A", "/", ":", "7"]
    for text in mutations(9, alphabet, 3000):
        verbatim = is_verbatim_append(text)
        # Never a frame that is not such an append (sound) ...
        assert not verbatim or verbatim_reference(text), repr(text)
        # ... and every escape-free one plain_append reads (others take the general path).
        event = plain_append(text)
        if event is not None and "\\" not in text:
            assert verbatim, repr(text)
            # ... and the span is exactly the audio the parse reads.
            start, end = append_audio_span(text)
            assert text[start:end] == event.data["audio"], repr(text)

"""Event.from_text: what a client frame must be before anything reads it."""

from __future__ import annotations

import json

import pytest

from rt_core import ClientEventError
from rt_core.events import MAX_EVENT_DEPTH, Event


def nested(depth: int) -> str:
    """An event whose ``metadata`` makes objects and arrays nest ``depth`` deep in all."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return '{"type":"response.create","metadata":' + inner + "}"


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_refused():
    assert Event.from_text(nested(MAX_EVENT_DEPTH)).type == "response.create"
    with pytest.raises(ClientEventError) as err:
        Event.from_text(nested(MAX_EVENT_DEPTH + 1))
    assert err.value.code == "invalid_event" and str(MAX_EVENT_DEPTH) in str(err.value)


def test_deeper_than_the_parser_goes_is_the_same_refusal():
    with pytest.raises(ClientEventError) as err:
        Event.from_text(nested(100_000))
    assert err.value.code == "invalid_event"


def test_many_brackets_side_by_side_are_not_depth():
    wide = json.dumps({"type": "conversation.item.create", "item": {"content": [[{"a": []}]] * 400}})
    assert Event.from_text(wide).data["item"]["content"][399] == [{"a": []}]


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "x\\udc00y", "\\ud83d"])
def test_unpaired_surrogates_are_refused(escape):
    with pytest.raises(ClientEventError) as err:
        Event.from_text('{"type":"response.create","response":{"instructions":"' + escape + '"}}')
    assert err.value.code == "invalid_json"


def test_a_surrogate_pair_and_an_escaped_backslash_are_text():
    ev = Event.from_text('{"type":"response.create","response":{"instructions":"\\ud83d\\ude00 \\\\ud800"}}')
    assert ev.data["response"]["instructions"] == "\U0001F600 \\ud800"

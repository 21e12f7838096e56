"""Function calling: when the mock calls a tool, the GA events, the round trip."""

from __future__ import annotations

import json

import pytest

from rt_mock.replies import placeholder_arguments

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 3},
            "verbose": {"type": "boolean"},
        },
        "required": ["city", "unit", "days"],
    },
}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def user_text(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def tool_mock(mock, tool_choice="auto", tools=(WEATHER, TIME)):
    m = mock()
    m.send("session.update", session={"type": "realtime", "output_modalities": ["text"], "tools": list(tools),
                                      "tool_choice": tool_choice})
    return m


def test_mentioning_a_tool_calls_it_with_schema_satisfying_arguments(mock, h):
    m = tool_mock(mock)
    m.send("conversation.item.create", item=user_text("What does get_weather say about Paris?"))
    m.send("response.create")
    events = m.run()
    kinds = h.types(events)
    n = kinds.count("response.function_call_arguments.delta")
    assert n >= 2  # arguments stream in chunks
    assert kinds == (["response.output_item.added", "conversation.item.added"]
                     + ["response.function_call_arguments.delta"] * n
                     + ["response.function_call_arguments.done", "response.output_item.done",
                        "conversation.item.done", "response.done"])
    added = events[0]["item"]
    assert added["type"] == "function_call" and added["status"] == "in_progress" and added["arguments"] == ""
    done_args = events[kinds.index("response.function_call_arguments.done")]
    assert done_args["name"] == "get_weather"
    assert "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta") \
        == done_args["arguments"]
    assert json.loads(done_args["arguments"]) == {"city": "example", "unit": "celsius", "days": 3}
    call_ids = {e["call_id"] for e in events if e["type"].startswith("response.function_call_arguments")}
    assert call_ids == {added["call_id"]}
    response = events[-1]["response"]
    assert response["status"] == "completed"
    assert response["output"] == [{**added, "status": "completed", "arguments": done_args["arguments"]}]
    assert response["usage"]["output_tokens"] > 0


def test_round_trip_reply_mentions_the_tool_output(mock, h):
    m = tool_mock(mock)
    m.send("conversation.item.create", item=user_text("please get weather"))
    m.send("response.create")
    call = m.run()[-1]["response"]["output"][0]
    out = m.send("conversation.item.create", item={"type": "function_call_output", "call_id": call["call_id"],
                                                   "output": '{"temp_c": 21}'})
    assert h.types(out) == ["conversation.item.added", "conversation.item.done"]
    assert out[0]["previous_item_id"] == call["id"]
    m.send("response.create")
    events = m.run()
    assert "response.function_call_arguments.done" not in h.types(events)  # no second call
    text = events[-1]["response"]["output"][0]["content"][0]["text"]
    assert text == 'get_weather returned: {"temp_c": 21}'


def test_spoken_round_trip_in_an_audio_session(mock, h):
    m = mock(input_transcript="use the get time tool")
    m.send("session.update", session={"type": "realtime", "tools": [TIME]})
    turn = m.append_audio(h.tone(500) + h.silence(300))
    assert "response.created" in h.types(turn)
    call = m.run()[-1]["response"]["output"][0]
    assert call["type"] == "function_call" and call["name"] == "get_time"
    m.send("conversation.item.create", item={"type": "function_call_output", "call_id": call["call_id"],
                                             "output": "12:00"})
    m.send("response.create")
    events = m.run()
    transcript = "".join(e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "get_time returned: 12:00"


def test_no_call_without_mention_but_asking_for_a_tool_calls_the_first(mock):
    m = tool_mock(mock)
    m.send("conversation.item.create", item=user_text("nice day"))
    m.send("response.create")
    assert m.run()[-1]["response"]["output"][0]["type"] == "message"
    m.send("conversation.item.create", item=user_text("can you call a tool for me"))
    m.send("response.create")
    assert m.run()[-1]["response"]["output"][0]["name"] == "get_weather"


def test_parallel_calls_follow_mention_order_unless_disabled(mock):
    m = tool_mock(mock)
    m.send("conversation.item.create", item=user_text("get_time then get_weather"))
    m.send("response.create")
    out = m.run()[-1]["response"]["output"]
    assert [o["name"] for o in out] == ["get_time", "get_weather"]
    assert [o["type"] for o in out] == ["function_call"] * 2
    m.send("response.create", response={"parallel_tool_calls": False, "input": [user_text("get_time get_weather")]})
    assert [o["name"] for o in m.run()[-1]["response"]["output"]] == ["get_time"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", None),
        ("required", "get_weather"),
        ({"type": "function", "name": "get_time"}, "get_time"),
    ],
)
def test_tool_choice_is_honoured(mock, choice, expected):
    m = tool_mock(mock, tool_choice=choice)
    m.send("conversation.item.create", item=user_text("hello, get_weather maybe"
                                                      if choice == "none" else "hello"))
    m.send("response.create")
    first = m.run()[-1]["response"]["output"][0]
    if expected is None:
        assert first["type"] == "message"
    else:
        assert first["type"] == "function_call" and first["name"] == expected


def test_response_level_tools_override_the_session(mock):
    m = tool_mock(mock, tools=())
    m.send("conversation.item.create", item=user_text("lookup_order 42"))
    m.send("response.create", response={"tools": [{"type": "function", "name": "lookup_order"}]})
    assert m.run()[-1]["response"]["output"][0]["name"] == "lookup_order"


def test_placeholder_arguments_cover_common_schemas():
    schema = {
        "type": "object",
        "$defs": {"Addr": {"type": "object", "properties": {"zip": {"type": "string", "minLength": 9}},
                           "required": ["zip"]}},
        "properties": {
            "when": {"type": "string", "format": "date"},
            "mail": {"type": ["null", "string"], "format": "email"},
            "n": {"type": "number", "maximum": 0.5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "none": {"type": "array"},
            "addr": {"$ref": "#/$defs/Addr"},
            "pick": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "fixed": {"const": "x"},
            "d": {"type": "string", "default": "dflt"},
            "optional": {"type": "string"},
        },
        "required": ["when", "mail", "n", "tags", "none", "addr", "pick", "fixed", "d"],
    }
    assert placeholder_arguments(schema) == {
        "when": "2025-01-01", "mail": "user@example.com", "n": 0.5, "tags": ["example", "example"], "none": [],
        "addr": {"zip": "examplexx"}, "pick": 1, "fixed": "x", "d": "dflt",
    }
    assert placeholder_arguments(None) == {}
    assert placeholder_arguments({"type": "object"}) == {}

"""Text conversations: items, the GA response event order, usage, per-response options."""

from __future__ import annotations

import math

import pytest

TEXT_SESSION = {"type": "realtime", "output_modalities": ["text"]}


def user_text(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def text_mock(mock, **settings):
    m = mock(**settings)
    m.send("session.update", session=TEXT_SESSION)
    return m


MESSAGE_ORDER_HEAD = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
]
MESSAGE_ORDER_TAIL = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def test_item_create_answers_added_then_done_with_previous_item_id(mock, h):
    m = text_mock(mock)
    first = m.send("conversation.item.create", item=user_text("one"))
    assert h.types(first) == ["conversation.item.added", "conversation.item.done"]
    assert first[0]["previous_item_id"] is None
    item = first[1]["item"]
    assert item["status"] == "completed" and item["object"] == "realtime.item"
    assert item["content"] == [{"type": "input_text", "text": "one"}]
    second = m.send("conversation.item.create", item=user_text("two"))
    assert second[0]["previous_item_id"] == item["id"]
    # Inserting at the start of the conversation.
    root = m.send("conversation.item.create", previous_item_id="root", item={**user_text("zero"), "id": "item_zero"})
    assert root[0]["previous_item_id"] is None and root[0]["item"]["id"] == "item_zero"
    assert [e.id for e in m.translator.conversation.entries()][0] == "item_zero"


def test_text_response_has_the_full_ga_event_order_and_echoes_the_user(mock, h):
    m = text_mock(mock)
    user = m.send("conversation.item.create", item=user_text("what time is it"))[0]["item"]
    immediate = m.send("response.create")
    assert h.types(immediate) == ["response.created"]
    created = immediate[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    streamed = m.run()
    kinds = h.types(streamed)
    n_deltas = kinds.count("response.output_text.delta")
    assert kinds == MESSAGE_ORDER_HEAD[1:] + ["response.output_text.delta"] * n_deltas + MESSAGE_ORDER_TAIL
    deltas = [e["delta"] for e in streamed if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "You said: what time is it"
    assert n_deltas == 6  # one per word
    # Every streamed event points at the same response/item/indices.
    item_id = streamed[0]["item"]["id"]
    for e in streamed[:-1]:
        if "response_id" in e:
            assert e["response_id"] == created["id"]
        if "item_id" in e:
            assert e["item_id"] == item_id
    assert streamed[1]["previous_item_id"] == user["id"]  # conversation.item.added
    done = streamed[-1]["response"]
    assert done["status"] == "completed" and done["status_details"] is None
    assert done["output"] == [{"id": item_id, "type": "message", "object": "realtime.item", "status": "completed",
                               "role": "assistant",
                               "content": [{"type": "output_text", "text": "You said: what time is it"}]}]
    assert done["conversation_id"] == created["conversation_id"] and done["conversation_id"].startswith("conv_")
    assert done["output_modalities"] == ["text"]


def test_usage_is_computed_from_text_lengths(mock):
    m = text_mock(mock, instructions="Abcd")  # 1 token
    m.send("conversation.item.create", item=user_text("12345678"))  # 2 tokens
    m.send("response.create")
    usage = m.run()[-1]["response"]["usage"]
    out_tokens = math.ceil(len("You said: 12345678") / 4)
    assert usage["input_tokens"] == 3
    assert usage["output_tokens"] == out_tokens
    assert usage["total_tokens"] == 3 + out_tokens
    assert usage["input_token_details"]["text_tokens"] == 3
    assert usage["input_token_details"]["audio_tokens"] == 0
    assert usage["input_token_details"]["cached_tokens"] == 0
    assert usage["output_token_details"] == {"text_tokens": out_tokens, "audio_tokens": 0}


def test_greets_when_there_is_nothing_to_answer(mock):
    m = text_mock(mock)
    m.send("response.create")
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "Hello! I am the rt mock model."


def test_fixed_reply_text_setting(mock):
    m = text_mock(mock, reply_text="Always this.")
    m.send("conversation.item.create", item=user_text("anything"))
    m.send("response.create")
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "Always this."


def test_say_line_in_response_instructions_wins_over_the_session(mock):
    m = mock()
    m.send("session.update", session={**TEXT_SESSION, "instructions": "Say: from the session"})
    m.send("conversation.item.create", item=user_text("hello"))
    m.send("response.create")
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "from the session"
    m.send("response.create", response={"instructions": "Be nice.\nsay:  Good morning, Dave.  "})
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "Good morning, Dave."


def test_per_response_output_modalities(mock, h):
    m = text_mock(mock)
    m.send("conversation.item.create", item=user_text("hi"))
    m.send("response.create", response={"output_modalities": ["audio"]})
    events = m.run()
    assert "response.output_audio.delta" in h.types(events)
    assert events[-1]["response"]["output_modalities"] == ["audio"]


def test_out_of_band_response_with_input_items_stays_out_of_the_conversation(mock, h):
    m = text_mock(mock)
    m.send("conversation.item.create", item=user_text("in the conversation"))
    before = [e.id for e in m.translator.conversation.entries()]
    m.send("response.create", response={"conversation": "none", "metadata": {"topic": "classify"},
                                        "input": [user_text("only this")]})
    events = m.run()
    assert "conversation.item.added" not in h.types(events)
    assert "conversation.item.done" not in h.types(events)
    done = events[-1]["response"]
    assert done["conversation_id"] is None
    assert done["metadata"] == {"topic": "classify"}
    assert done["output"][0]["content"][0]["text"] == "You said: only this"
    assert [e.id for e in m.translator.conversation.entries()] == before


def test_input_item_references_and_empty_input(mock):
    m = text_mock(mock)
    first = m.send("conversation.item.create", item=user_text("first"))[0]["item"]["id"]
    m.send("conversation.item.create", item=user_text("second"))
    m.send("response.create", response={"input": [{"type": "item_reference", "id": first}]})
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "You said: first"
    m.send("response.create", response={"input": []})
    assert m.run()[-1]["response"]["output"][0]["content"][0]["text"] == "Hello! I am the rt mock model."
    err = m.send("response.create", event_id="r", response={"input": [{"type": "item_reference", "id": "nope"}]})
    assert err[0]["type"] == "error" and err[0]["error"]["param"] == "response.input[0].id"


def test_max_output_tokens_cuts_the_reply_and_marks_it_incomplete(mock):
    m = text_mock(mock)
    m.send("conversation.item.create", item=user_text("a long sentence with many words in it"))
    m.send("response.create", response={"max_output_tokens": 3})
    events = m.run()
    done = events[-1]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    item = done["output"][0]
    assert item["status"] == "incomplete"
    assert done["usage"]["output_tokens"] <= 3
    assert item["content"][0]["text"] == "You said: a"  # 11 chars = 3 tokens; one more word would be 4


def test_response_create_while_active_is_the_openai_error(mock, h):
    m = text_mock(mock)
    m.send("conversation.item.create", item=user_text("hi"))
    rid = m.send("response.create")[0]["response"]["id"]
    out = m.send("response.create", event_id="again")
    assert h.types(out) == ["error"]
    err = out[0]["error"]
    assert err["code"] == "conversation_already_has_active_response" and err["event_id"] == "again"
    assert rid in err["message"]
    # The first response is unaffected.
    assert m.run()[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize(
    ("response", "param"),
    [
        ({"output_modalities": ["smell"]}, "response.output_modalities[0]"),
        ({"conversation": "conv_other"}, "response.conversation"),
        ({"tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
        ({"banana": 1}, "response.banana"),
        ({"max_output_tokens": 0}, "response.max_output_tokens"),
    ],
)
def test_invalid_response_create_is_an_error(mock, h, response, param):
    m = text_mock(mock)
    out = m.send("response.create", event_id="bad", response=response)
    assert h.types(out) == ["error"]
    assert out[0]["error"]["param"] == param and out[0]["error"]["event_id"] == "bad"
    assert m.translator.active is None


def test_retrieve_delete_and_their_errors(mock, h):
    m = text_mock(mock)
    item_id = m.send("conversation.item.create", item=user_text("keep me"))[0]["item"]["id"]
    got = m.send("conversation.item.retrieve", item_id=item_id)
    assert h.types(got) == ["conversation.item.retrieved"]
    assert got[0]["item"]["content"][0]["text"] == "keep me"
    assert h.types(m.send("conversation.item.delete", item_id=item_id)) == ["conversation.item.deleted"]
    for kind, code in (("retrieve", "item_retrieve_invalid_item_id"), ("delete", "item_delete_invalid_item_id"),
                       ("truncate", "item_truncate_invalid_item_id")):
        extra = {"content_index": 0, "audio_end_ms": 0} if kind == "truncate" else {}
        out = m.send(f"conversation.item.{kind}", event_id=f"e_{kind}", item_id=item_id, **extra)
        assert h.types(out) == ["error"]
        assert (out[0]["error"]["code"], out[0]["error"]["param"], out[0]["error"]["event_id"]) == (
            code, "item_id", f"e_{kind}")


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "message", "role": "robot", "content": []}, "item.role"),
        ({"type": "message", "role": "user", "content": [{"type": "output_text", "text": "x"}]},
         "item.content[0].type"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text"}]}, "item.content[0].text"),
        ({"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "***"}]},
         "item.content[0].audio"),
        ({"type": "function_call_output", "call_id": "c"}, "item.output"),
        ({"type": "reasoning"}, "item.type"),
        ({"role": "user", "content": []}, "item.type"),
    ],
)
def test_invalid_items_are_errors(mock, h, item, param):
    m = text_mock(mock)
    out = m.send("conversation.item.create", event_id="i", item=item)
    assert h.types(out) == ["error"] and out[0]["error"]["param"] == param
    assert m.translator.conversation.entries() == []


def test_item_create_errors_for_unknown_previous_item_and_duplicate_id(mock, h):
    m = text_mock(mock)
    out = m.send("conversation.item.create", previous_item_id="nope", item=user_text("x"))
    assert out[0]["error"]["param"] == "previous_item_id"
    m.send("conversation.item.create", item={**user_text("x"), "id": "dup"})
    out = m.send("conversation.item.create", item={**user_text("y"), "id": "dup"})
    assert out[0]["error"]["param"] == "item.id"


def test_same_inputs_give_identical_sessions(mock):
    def session(m):
        m.send("conversation.item.create", item=user_text("determinism please"))
        m.send("response.create")
        m.run()
        return m.events

    assert session(text_mock(mock)) == session(text_mock(mock))

"""Write the golden session recordings (tests/gemini/golden/*.jsonl).

The recordings are scripted, not captured from Google (tests run offline): every
Gemini message in them validates as google-genai ``types.LiveServerMessage`` (the
golden test checks that again on every run).  Run from the repository root::

    .venv/bin/python -m tests.gemini.record_golden
    RT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/gemini/test_gemini_golden.py

then review the diff of the ``.expected.jsonl`` files.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from rt_core.audio import PCM16_24K, PCMU_8K, AudioConverter
from tests.gemini.support import (
    TURN_COMPLETE,
    append,
    gemini_audio,
    gemini_text,
    input_transcript,
    pcm16,
    transcript,
    user_text,
)

G = Path(__file__).parent / "golden"

def write(name: str, lines: list[dict[str, Any]]) -> None:
    with open(G / f"{name}.jsonl", "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")

def C(e: dict[str, Any]) -> dict[str, Any]:
    return {"client": e}


def U(m: dict[str, Any]) -> dict[str, Any]:
    return {"gemini": m}


OPEN = {"signal": "opened"}
SETUP_OK = U({"setupComplete": {}})
def handle(n: int) -> dict[str, Any]:
    return U({"sessionResumptionUpdate": {"newHandle": f"handle-1-{n}", "resumable": True}})
USAGE_T = {"serverContent": {"turnComplete": True}, "usageMetadata": {"promptTokenCount": 17, "responseTokenCount": 5, "totalTokenCount": 22, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 17}], "responseTokensDetails": [{"modality": "TEXT", "tokenCount": 5}]}}

def main() -> None:
    # 1. text: instructions + history + reply + second turn
    write("text", [OPEN,
      C({"type": "session.update", "event_id": "evt_1", "session": {"type": "realtime", "output_modalities": ["text"], "instructions": "You are terse."}}),
      SETUP_OK, handle(1),
      C({**user_text("My name is Ada."), "event_id": "evt_2"}),
      C({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi Ada."}]}}),
      C({**user_text("What is my name?"), "event_id": "evt_3"}),
      C({"type": "response.create", "event_id": "evt_4"}),
      U(gemini_text("Your name ")), U(gemini_text("is Ada.")),
      U({"serverContent": {"generationComplete": True}}), U(USAGE_T), handle(2),
      C({"type": "response.create", "event_id": "evt_5", "response": {"instructions": "Say goodbye.", "metadata": {"turn": "bye"}}}),
      U(gemini_text("Goodbye.")), U(USAGE_T),
    ])

    # 2. audio with server VAD and input transcription (24 kHz input sent natively);
    #    audio_vad_16k: the same session on a deployment that resamples to 16 kHz
    lines = [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "instructions": "Be kind.", "audio": {
          "input": {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": {"type": "server_vad", "silence_duration_ms": 500}},
          "output": {"voice": "marin"}}}}),
      SETUP_OK, handle(1)]
    lines += [C(append(100)) for _ in range(6)]
    lines += [U(input_transcript(" Hello")), C(append(100)), C(append(100)), U(input_transcript(" there")),
      U(gemini_audio(40)), U(transcript("Hi! ")), U(gemini_audio(40)), U(transcript("How can I help?")),
      U({"serverContent": {"generationComplete": True}}), U({"serverContent": {"turnComplete": True}, "usageMetadata": {"promptTokenCount": 40, "responseTokenCount": 30, "totalTokenCount": 70, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}, {"modality": "AUDIO", "tokenCount": 30}], "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}]}}),
      handle(2)]
    write("audio_vad", lines)
    write("audio_vad_16k", [{"options": {"input_audio_rate": 16000}}, *lines])

    # 3. tools: parallel calls, outputs, reply, cancellation
    write("tools", [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "tools": [
          {"type": "function", "name": "get_weather", "description": "Weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
          {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}], "tool_choice": "auto"}}),
      SETUP_OK,
      C(user_text("Weather in Oslo and the time there?")), C({"type": "response.create"}),
      U({"toolCall": {"functionCalls": [{"id": "fc_1", "name": "get_weather", "args": {"city": "Oslo"}}, {"id": "fc_2", "name": "get_time", "args": {"tz": "Europe/Oslo"}}]}}),
      C({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "fc_1", "output": "{\"temp_c\": 4, \"sky\": \"snow\"}"}}),
      C({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "fc_2", "output": "14:05"}}),
      C({"type": "response.create"}),
      U(gemini_text("It is 4°C and snowing in Oslo; ")), U(gemini_text("the time is 14:05.")), U(USAGE_T),
      C(user_text("And Bergen?")), C({"type": "response.create"}),
      U({"toolCall": {"functionCalls": [{"id": "fc_3", "name": "get_weather", "args": {"city": "Bergen"}}]}}),
      U({"toolCallCancellation": {"ids": ["fc_3"]}}),
      C({"type": "conversation.item.create", "event_id": "evt_late", "item": {"type": "function_call_output", "call_id": "fc_3", "output": "rain"}}),
    ])

    # 4. interruption (barge-in) and truncate
    lines = [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}}),
      SETUP_OK]
    lines += [C(append(100)) for _ in range(5)]
    lines += [U(input_transcript("Tell me a story")), U(gemini_audio(40)), U(transcript("Once upon ")), U(gemini_audio(40)), U(transcript("a time")),
      C(append(100)), C(append(100)), U({"serverContent": {"interrupted": True}}), U({"serverContent": {"turnComplete": True}}),
      C({"type": "conversation.item.truncate", "item_id": "item_t000014", "content_index": 0, "audio_end_ms": 50}),
      U(input_transcript("Stop please")), C(append(100)),
      U(gemini_audio(40)), U(transcript("Okay.")), U(TURN_COMPLETE)]
    write("interruption", lines)

    # 5. manual turns (turn_detection null), clear, commit, response.create, cancel
    lines = [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"], "audio": {"input": {"turn_detection": None, "format": {"type": "audio/pcmu"}}, "output": {"format": {"type": "audio/pcmu"}}}}}),
      SETUP_OK]
    mu = AudioConverter(PCM16_24K, PCMU_8K).convert(pcm16(600))
    chunks = [base64.b64encode(mu[i:i+800]).decode() for i in range(0, len(mu), 800)]
    lines += [C({"type": "input_audio_buffer.append", "audio": chunks[0]}), C({"type": "input_audio_buffer.clear"})]
    lines += [C({"type": "input_audio_buffer.append", "audio": c}) for c in chunks]
    lines += [C({"type": "input_audio_buffer.commit", "event_id": "evt_commit"}), C({"type": "response.create"}),
      U(input_transcript("hello")), U(gemini_audio(100)), U(transcript("Hello!")), U(gemini_audio(100)), U(TURN_COMPLETE),
      C({"type": "input_audio_buffer.commit", "event_id": "evt_empty"}),
      C({"type": "input_audio_buffer.append", "audio": chunks[1]}), C({"type": "input_audio_buffer.append", "audio": chunks[2]}),
      C({"type": "input_audio_buffer.commit"}), C({"type": "response.create"}),
      U(gemini_audio(100)), C({"type": "response.cancel"}), U(gemini_audio(100)), U({"serverContent": {"interrupted": True}}), U({"serverContent": {"turnComplete": True}}),
    ]
    write("manual_turns", lines)

    # 6. resumption: goAway during a reply, reconnect after it, drop + resume, continue
    lines = [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "instructions": "Count turns."}}),
      SETUP_OK, handle(1),
      C(user_text("one")), C({"type": "response.create"}), U(gemini_text("Reply 1")),
      U({"goAway": {"timeLeft": "10s"}}),
      C(user_text("queued during the reply")),
      U(USAGE_T), 
      {"signal": "reconnected"},
      C({"type": "response.create"}),
      U({"setupComplete": {}}), handle(2),
      U(gemini_text("Reply 2")), U(USAGE_T), handle(3),
      C({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"], "audio": {"output": {"voice": "cedar"}}}}),
      {"signal": "reconnected"}, U({"setupComplete": {}}), handle(4),
      C(user_text("three")), C({"type": "response.create"}), U(gemini_audio(40)), U(transcript("Reply 3")),
      {"signal": "dropped", "code": 1011, "reason": "Deadline expired"},
      {"signal": "reconnected"}, U({"setupComplete": {}}),
      C(user_text("four")), C({"type": "response.create"}), U(gemini_audio(40)), U(transcript("Reply 4")), U(TURN_COMPLETE),
    ]
    write("resumption", lines)

    # 7. create_response false: held reply released by response.create
    lines = [OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}}}),
      SETUP_OK]
    lines += [C(append(100)) for _ in range(4)]
    lines += [U(input_transcript("What time is it?")), U(gemini_audio(40)), U(transcript("It is noon.")), U(TURN_COMPLETE),
      C({"type": "response.create"})]
    write("held_reply", lines)

    # 8. vertex platform: commit under VAD, usage names, tool call without id
    lines = [{"options": {"platform": "vertex", "input_audio_rate": 16000,  # rt-vertex's default
                          "model": "projects/demo/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"}}, OPEN,
      C({"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]}}),
      SETUP_OK]
    lines += [C(append(100)) for _ in range(3)]
    lines += [C({"type": "input_audio_buffer.commit"}), C({"type": "response.create"}),
      U({"toolCall": {"functionCalls": [{"name": "lookup", "args": {"q": "x"}}]}}),
      C({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_t000011", "output": "found"}}),
      C({"type": "response.create"}),
      U(gemini_audio(40)), U(transcript("Found it.")),
      U({"serverContent": {"turnComplete": True}, "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13, "trafficType": "ON_DEMAND", "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 4}]}})]
    write("vertex", lines)

    # 9. the input format changes mid-session under server VAD (audio sent natively):
    #    pcm16 24 kHz, then G.711 mu-law (sent as pcm16 at 8 kHz), then pcm16 24 kHz
    #    again; each blob declares the rate of the audio it carries, and so does
    #    the audio replayed on the new connection after the drop
    mu = AudioConverter(PCM16_24K, PCMU_8K).convert(pcm16(200))
    lines = [OPEN, C({"type": "session.update", "session": {"type": "realtime"}}), SETUP_OK, handle(1),
             C(append(100)), C(append(100)),
             C({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}}}),
             C({"type": "input_audio_buffer.append", "audio": base64.b64encode(mu[:800]).decode()}),
             C({"type": "input_audio_buffer.append", "audio": base64.b64encode(mu[800:]).decode()}),
             C({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}}),
             C(append(100)),
             U(input_transcript("hello")), U(gemini_audio(40)), U(transcript("Hi.")), U(TURN_COMPLETE),
             {"signal": "dropped", "code": 1011, "reason": "Deadline expired"}]
    write("format_switch", lines)
    print("recordings written to", G)


if __name__ == "__main__":
    main()

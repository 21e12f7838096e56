"""Client events → Gemini: audio, commits, items, response.create/cancel, session.update.

Part of :class:`rt_gemini.translator.GeminiTranslator` (see :mod:`rt_gemini.state`).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from rt_core import (
    Action,
    ClientEventError,
    Event,
    Schedule,
    TimerFired,
    ToClient,
    ToUpstream,
    UnsupportedEventError,
    error_event,
)
from rt_core.audio import PCM16_24K, AudioConverter

from . import wire
from .input_audio import InputAudio, decode_b64
from .items import function_response_payload, item_to_content, public_item
from .session_config import Unsupported
from .state import COMMIT_TIMER, MAX_AUDIO_CHUNK_MS, MIN_COMMIT_MS, ReplayLimits, TranslatorState, UserTurn
from .voices import gemini_voice

__all__ = ["ClientSide"]

_AUDIO_FRAME_TAIL = wire.AUDIO_FRAME_TAIL

log = logging.getLogger(__name__)


class ClientSide(TranslatorState):
    """What each client event does (GA dialect)."""

    __slots__ = ()

    def quick_append(self, audio: str) -> str | None:
        """The upstream frame for an append's audio in the steady state, or None.

        The steady state: server VAD, Gemini ready and nothing queued for it,
        and audio already in the format Gemini is sent -- whole pcm16 samples
        in standard padded base64 (the text is forwarded; checking it refuses
        any other character, so the relay may hand over audio whose
        characters json has not read: docs/hooks.md, quick routes).  Then
        this makes every change :meth:`_append` makes and returns the one
        frame it would send.  Otherwise it changes nothing and returns None,
        and the append takes the general way.
        """
        conv = self.in_audio
        if not (self.phase == "ready" and not self.pending_turns and conv.passthrough
                and self.config.turn_detection is not None):  # config.vad, without the property call
            return None
        ms = conv.take_plain_b64(audio)
        if ms is None:
            return None
        self.input_ms += ms
        frame = f"{conv.head}{audio}{_AUDIO_FRAME_TAIL}"  # one copy of the audio, no JSON encoder
        self.user_input_unanswered = True
        self.content_sent = True
        self._remember(frame)
        return frame

    def _append(self, event: Event) -> list[Action]:
        audio = event.data.get("audio")
        if not isinstance(audio, str):
            raise ClientEventError("audio must be a base64 string", code="invalid_value", param="audio",
                                   event_id=event.event_id)
        frame = self.quick_append(audio)
        if frame is not None:
            return [ToUpstream(frame)]
        conv = self.in_audio
        before = conv.ms_in
        if self.config.vad:
            try:
                b64 = conv.convert_b64(audio)
            except ValueError as exc:
                raise ClientEventError(str(exc), code="invalid_value", param="audio", event_id=event.event_id) from None
            self.input_ms += conv.ms_in - before
            if not b64:
                return []
            frame = f"{conv.head}{b64}{_AUDIO_FRAME_TAIL}"  # one copy of the audio, no JSON encoder
            self.user_input_unanswered = True
            if self.phase == "ready" and not self.pending_turns:
                self.content_sent = True
                self._remember(frame)
                return [ToUpstream(frame)]
            actions: list[Action] = []
            self._flush_turns(actions)
            self._send(actions, frame)
            return actions
        # Manual turns: keep the audio until commit, so clear can really clear it.
        try:
            raw = decode_b64(audio)
        except ValueError:
            raise ClientEventError("audio is not valid base64", code="invalid_value", param="audio",
                                   event_id=event.event_id) from None
        pcm = conv.convert(raw)
        self.input_ms += conv.ms_in - before
        if pcm:
            self.manual_buf.append(pcm)
            self.manual_bytes += len(pcm)
        actions = []
        self._ensure_setup(actions)
        return actions

    def _commit(self, event: Event) -> list[Action]:
        eid = event.event_id
        actions: list[Action] = []
        if self.config.vad:
            ms = self.input_ms - self.boundary_ms
            if ms < MIN_COMMIT_MS:
                raise _commit_empty(ms, eid)
            self._ensure_setup(actions)
            tail = self.in_audio.flush()
            if tail:
                self._send(actions, self.in_audio.frame(base64.b64encode(tail).decode("ascii")))
            self._end_audio_turn(actions)
            turn = self.user_turn
            if turn is None or turn.committed:
                turn = self.user_turn = UserTurn(self.ids("item"), self.boundary_ms)
            self._commit_turn(actions, turn, speech_stopped=False)
            self.commit_pending = self.resp is None or not self.resp.started
            if self.commit_pending:
                actions.append(Schedule(self.opts.commit_reply_timeout, TimerFired(COMMIT_TIMER)))
            return actions
        pcm = b"".join(self.manual_buf) + self.in_audio.flush()
        ms = self.in_audio.dst.duration_ms(len(pcm))
        if ms < MIN_COMMIT_MS:
            raise _commit_empty(ms, eid)
        self.manual_buf, self.manual_bytes = [], 0
        self._ensure_setup(actions)
        self._flush_turns(actions)
        if not self.activity_open:
            self._send(actions, wire.ACTIVITY_START_FRAME)
            self.activity_open = True
        self._send_pcm(actions, pcm)
        self.user_input_unanswered = True
        self._complete_turn(actions)
        turn = self.user_turn = UserTurn(self.ids("item"), self.boundary_ms)
        self._commit_turn(actions, turn, speech_stopped=False)
        return actions

    def _end_audio_turn(self, actions: list[Action]) -> None:
        """Make Gemini's VAD end the user's turn now (a commit under server VAD)."""
        if self.platform == "aistudio":
            self._send(actions, wire.AUDIO_STREAM_END_FRAME)
            return
        # Vertex has no audioStreamEnd: a silence tail its VAD recognises ends the turn.
        td = self.config.turn_detection or {}
        seconds = self.opts.silence_tail or (td.get("silence_duration_ms") or 500) / 1000 + 0.5
        self._send_pcm(actions, bytes(int(seconds * self.in_audio.dst.rate) * 2))

    def _send_pcm(self, actions: list[Action], pcm: bytes) -> None:
        """Send pcm16 at the input rate in force, in frames of at most a second."""
        conv = self.in_audio
        step = conv.dst.bytes_per_second * MAX_AUDIO_CHUNK_MS // 1000
        for i in range(0, len(pcm), step):
            self._send(actions, conv.frame(base64.b64encode(pcm[i : i + step]).decode("ascii")))

    def _clear(self, event: Event) -> list[Action]:
        if not self.config.vad:
            self.manual_buf, self.manual_bytes = [], 0
            self.in_audio.reset()
        # Under server VAD the audio already streamed stays with Gemini; the
        # resampler keeps its state so the stream has no discontinuity.
        self.boundary_ms = self.input_ms
        return [ToClient(self.emit("input_audio_buffer.cleared"))]

    def _output_audio_clear(self, event: Event) -> list[Action]:
        raise UnsupportedEventError(
            "output_audio_buffer.clear applies to WebRTC and SIP sessions only; over WebSocket the client "
            "owns playback: stop it locally and send conversation.item.truncate.",
            param="type", event_id=event.event_id,
        )

    def _session_update(self, event: Event) -> list[Action]:
        eid = event.event_id
        session = event.data.get("session")
        if not isinstance(session, dict):
            raise ClientEventError("session must be an object", code="invalid_value", param="session", event_id=eid)
        old_in, old_out = self.config.input_format, self.config.output_format
        was_vad = self.config.vad
        unsupported = self.config.apply(session, eid)
        actions: list[Action] = [ToClient(self.emit("session.updated", session=self.config.to_openai(self.session_id)))]
        if self.config.input_format != old_in or self.config.vad != was_vad:
            self._switch_input_audio(actions, was_vad)
        if self.config.output_format != old_out:
            self.out_conv = AudioConverter(PCM16_24K, self.config.output_format)
        if unsupported:
            actions.append(ToClient(self._unsupported_error(unsupported, eid)))
        if self.phase == "open":
            self._send_setup(actions)
        elif self.phase in ("setup", "ready", "reconnecting"):
            if self._fingerprint() != self.setup_fingerprint:
                self.reconnect_pending = "session.update"
                self._maybe_reconnect(actions)
            elif self.reconnect_pending == "session.update":
                self.reconnect_pending = None
        return actions

    def _switch_input_audio(self, actions: list[Action], was_vad: bool) -> None:
        """A new input format (or turn mode): a new converter, so the frames that
        follow declare the rate of the audio they carry.

        Streamed audio a resampler still holds goes out first, at its old rate;
        unsent manual-turn audio is dropped (it was in the old format).
        """
        old = self.in_audio
        if was_vad:
            tail = old.flush()
            if tail:
                self._send(actions, old.frame(base64.b64encode(tail).decode("ascii")))
        self.in_audio = InputAudio(self.config.input_format, self.opts.input_audio_rate)
        self.replay_limits = ReplayLimits.for_rate(self.in_audio.dst.rate)
        self.manual_buf, self.manual_bytes = [], 0

    def _unsupported_error(self, items: list[Unsupported], event_id: str | None) -> dict[str, Any]:
        detail = "; ".join(f"{u.param}: {u.message}" for u in items)
        return error_event(
            f"Gemini Live cannot apply {'this setting' if len(items) == 1 else 'these settings'}, "
            f"left unchanged: {detail}",
            code="unsupported_session_field", param=items[0].param, event_id=event_id, ids=self.ids,
        )

    def _item_create(self, event: Event) -> list[Action]:
        eid = event.event_id
        data = event.data
        item = data.get("item")
        if not isinstance(item, dict):
            raise ClientEventError("item must be an object", code="invalid_value", param="item", event_id=eid)
        prev = data.get("previous_item_id")
        if prev is not None and prev != self.conversation.last_id:
            raise UnsupportedEventError(
                "Gemini Live only appends to the conversation: previous_item_id must be the last item "
                f"({self.conversation.last_id!r}) or omitted.",
                param="previous_item_id", event_id=eid,
            )
        item_id = item.get("id") or self.ids("item")
        if not isinstance(item_id, str) or item_id in self.conversation:
            raise ClientEventError(f"Item id {item_id!r} already exists or is invalid.", code="invalid_value",
                                   param="item.id", event_id=eid)
        actions: list[Action] = []
        kind = item.get("type")
        if kind == "function_call_output":
            self._function_output(item, item_id, eid)
        else:
            content = item_to_content(item, input_format=self.config.input_format,
                                      upstream_format=self.in_audio.dst, event_id=eid, call_names=self.call_names)
            if kind == "function_call" and isinstance(item.get("call_id"), str):
                self.call_names[item["call_id"]] = str(item.get("name"))
            self.pending_turns.append((item_id, content))
        public = public_item(item, item_id)
        _info, previous = self.conversation.add(public)
        self.auto_unclaimed = None
        actions.append(ToClient(self.emit("conversation.item.added", previous_item_id=previous, item=public)))
        actions.append(ToClient(self.emit("conversation.item.done", previous_item_id=previous, item=public)))
        self._ensure_setup(actions)
        return actions

    def _function_output(self, item: dict[str, Any], item_id: str, eid: str | None) -> None:
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise ClientEventError("call_id must be a string", code="invalid_value", param="item.call_id", event_id=eid)
        if not isinstance(item.get("output"), str):
            raise ClientEventError("output must be a string", code="invalid_value", param="item.output", event_id=eid)
        call = self.calls.get(call_id)
        if call is None:
            if call_id in self.call_names:  # a function call the client put in the history
                content = item_to_content(item, input_format=self.config.input_format,
                                          upstream_format=self.in_audio.dst, event_id=eid,
                                          call_names=self.call_names)
                self.pending_turns.append((item_id, content))
                return
            raise ClientEventError(f"Tool call ID {call_id!r} not found in conversation.", code="invalid_value",
                                   param="item.call_id", event_id=eid)
        if call.state == "cancelled":
            raise ClientEventError(
                f"Gemini cancelled the call {call_id!r} (toolCallCancellation); its output is not used.",
                code="tool_call_cancelled", param="item.call_id", event_id=eid)
        if call.state != "pending":
            raise ClientEventError(f"The call {call_id!r} already has an output.", code="invalid_value",
                                   param="item.call_id", event_id=eid)
        response: dict[str, Any] = {"name": call.name, "response": function_response_payload(item["output"])}
        if call.gemini_id is not None:
            response = {"id": call.gemini_id, **response}
        call.state = "answered"
        self.pending_outputs.append((item_id, response))

    def _item_retrieve(self, event: Event) -> list[Action]:
        item_id = event.data.get("item_id")
        item = self.conversation.snapshot(item_id) if isinstance(item_id, str) else None
        if item is None:
            raise ClientEventError(f"Item {item_id!r} not found.", code="item_not_found", param="item_id",
                                   event_id=event.event_id)
        return [ToClient(self.emit("conversation.item.retrieved", item=item))]

    def _item_delete(self, event: Event) -> list[Action]:
        eid = event.event_id
        item_id = event.data.get("item_id")
        info = self.conversation.get(item_id) if isinstance(item_id, str) else None
        if info is None or not isinstance(item_id, str):
            raise ClientEventError(f"Item {item_id!r} not found.", code="item_not_found", param="item_id", event_id=eid)
        pending = [t for t in self.pending_turns if t[0] == item_id] or [o for o in self.pending_outputs if o[0] == item_id]
        if info.upstream or not pending:
            raise UnsupportedEventError(
                f"Gemini Live keeps its own history and cannot forget item {item_id!r}, which it already has.",
                code="item_delete_unsupported", param="item_id", event_id=eid)
        self.pending_turns = [t for t in self.pending_turns if t[0] != item_id]
        for oid, resp in self.pending_outputs:
            if oid == item_id:
                call = self._call_by_gemini_id(resp.get("id"), resp.get("name"))
                if call is not None:
                    call.state = "pending"
        self.pending_outputs = [o for o in self.pending_outputs if o[0] != item_id]
        self.conversation.remove(item_id)
        return [ToClient(self.emit("conversation.item.deleted", item_id=item_id))]

    def _item_truncate(self, event: Event) -> list[Action]:
        eid = event.event_id
        data = event.data
        item_id = data.get("item_id")
        info = self.conversation.get(item_id) if isinstance(item_id, str) else None
        if info is None:
            raise ClientEventError(f"Item {item_id!r} not found.", code="item_not_found", param="item_id", event_id=eid)
        item = info.item
        if item.get("type") != "message" or item.get("role") != "assistant":
            raise ClientEventError("Only assistant message items can be truncated.", code="invalid_value",
                                   param="item_id", event_id=eid)
        if data.get("content_index", 0) != 0:
            raise ClientEventError("content_index must be 0 (the audio part).", code="invalid_value",
                                   param="content_index", event_id=eid)
        end = data.get("audio_end_ms")
        if isinstance(end, bool) or not isinstance(end, int) or end < 0:
            raise ClientEventError("audio_end_ms must be a non-negative integer.", code="invalid_value",
                                   param="audio_end_ms", event_id=eid)
        if end > info.audio_ms + 1:
            raise ClientEventError(
                f"Audio content of {int(info.audio_ms)}ms is already shorter than {end}ms",
                code="invalid_value", param="audio_end_ms", event_id=eid)
        # Gemini already dropped from its context what was never generated; rt
        # records what the listener heard and drops the unheard transcript, as OpenAI does.
        info.truncated_ms = float(end)
        for c in item.get("content") or []:
            if isinstance(c, dict) and c.get("type") == "output_audio":
                c["transcript"] = ""
        return [ToClient(self.emit("conversation.item.truncated", item_id=item_id, content_index=0, audio_end_ms=end))]

    def _response_create(self, event: Event) -> list[Action]:
        eid = event.event_id
        params = event.data.get("response") or {}
        if not isinstance(params, dict):
            raise ClientEventError("response must be an object", code="invalid_value", param="response", event_id=eid)
        instructions, tool_choice, metadata = self._check_response_params(params, eid)
        bare = instructions is None and tool_choice is None
        actions: list[Action] = []
        resp = self.resp
        if resp is not None:
            if resp.origin == "server" and not resp.claimed and bare:
                resp.claimed = True  # the reply Gemini is already giving to the same input
                self.auto_unclaimed = None
                return []
            raise ClientEventError(
                f"Conversation already has an active response in progress: {resp.id}. Wait until the "
                "response is finished before creating a new one.",
                code="conversation_already_has_active_response", event_id=eid)
        if self.held is not None:
            held, self.held = self.held, None
            self._new_response(actions, "client", metadata=metadata, tool_choice=tool_choice)
            for m in held:
                self._content(m, actions)
            return actions
        if self.auto_unclaimed is not None and bare and not self._has_new_input():
            # Gemini's VAD already answered this input; never a second reply.
            log.debug("response.create matched to Gemini's reply %s", self.auto_unclaimed)
            self.auto_unclaimed = None
            return []
        self.auto_unclaimed = None
        self._ensure_setup(actions)
        if self.commit_pending and bare and not self.pending_turns and not self.pending_outputs:
            # The commit already ended the turn; Gemini's reply is on its way.
            self._new_response(actions, "client", metadata=metadata, tool_choice=tool_choice)
            return actions
        self._new_response(actions, "client", metadata=metadata, tool_choice=tool_choice)
        self._trigger(actions, instructions)
        return actions

    def _has_new_input(self) -> bool:
        return bool(self.pending_turns or self.pending_outputs or self.activity_open or self.manual_bytes)

    def _check_response_params(self, p: dict[str, Any], eid: str | None) -> tuple[str | None, Any, Any]:
        """Validate per-response overrides; returns (instructions, tool_choice, metadata)."""
        cfg = self.config

        def reject(param: str, message: str) -> UnsupportedEventError:
            return UnsupportedEventError(message, code="unsupported_response_parameter", param=f"response.{param}",
                                         event_id=eid)

        conv = p.get("conversation")
        if conv not in (None, "auto", self.conversation.id):
            raise reject("conversation", "Gemini Live has one conversation per session: out-of-band responses "
                                         "(conversation 'none') are not available.")
        if p.get("input"):
            raise reject("input", "Gemini Live cannot answer from a custom input context; add the items with "
                                  "conversation.item.create, then send response.create.")
        mods = p.get("output_modalities")
        if mods is not None:
            norm = ["audio"] if isinstance(mods, list) and "audio" in mods else ["text"]
            if norm != cfg.output_modalities:
                raise reject("output_modalities", "Gemini Live fixes the output modality per connection: change it "
                                                  "with session.update, not per response.")
        audio = p.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("output"), dict):
            out = audio["output"]
            voice = out.get("voice")
            if voice is not None and (not isinstance(voice, str) or gemini_voice(voice) != gemini_voice(cfg.voice)):
                raise reject("audio.output.voice", "Gemini Live fixes the voice per connection: change it with "
                                                   "session.update, not per response.")
            fmt = out.get("format")
            if fmt is not None and fmt != cfg.output_format.to_openai():
                raise reject("audio.output.format", "Change the output audio format with session.update.")
        if p.get("tools") is not None:
            raise reject("tools", "Gemini Live fixes the tools per connection: change them with session.update.")
        mot = p.get("max_output_tokens")
        if mot is not None and mot != cfg.max_output_tokens:
            raise reject("max_output_tokens", "Gemini Live fixes max_output_tokens per connection: change it with "
                                              "session.update.")
        temp = p.get("temperature")
        if temp is not None and temp != cfg.temperature:
            raise reject("temperature", "Gemini Live fixes the temperature per connection: change it with "
                                        "session.update.")
        if p.get("prompt") is not None:
            raise reject("prompt", "Stored prompts are an OpenAI platform feature.")
        if p.get("reasoning") is not None and p.get("reasoning") != cfg.reasoning:
            raise reject("reasoning", "Change reasoning with session.update.")
        tc = p.get("tool_choice")
        tool_choice = None
        if tc is not None and tc != cfg.tool_choice:
            if tc == "none":
                tool_choice = "none"
            elif tc != "auto":
                raise reject("tool_choice", "Per-response tool_choice can only be 'auto' or 'none' on Gemini Live; "
                                            "set 'required' or a named function with session.update.")
        instructions = p.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ClientEventError("instructions must be a string", code="invalid_value",
                                   param="response.instructions", event_id=eid)
        metadata = p.get("metadata")
        return (instructions or None), tool_choice, metadata

    def _trigger(self, actions: list[Action], instructions: str | None) -> None:
        """Ask Gemini for exactly one reply to everything sent so far."""
        self._end_unsure_suppression()
        extra = [{"role": "user", "parts": [{"text": instructions}]}] if instructions else []
        if self.activity_open:
            self._flush_turns(actions, extra)
            self._send(actions, wire.ACTIVITY_END_FRAME)
            self.activity_open = False
            self.boundary_ms = self.input_ms
            return
        if self.pending_outputs:
            self._flush_turns(actions, extra)
            self._send_tool_outputs(actions)
            return
        turns = [c for _, c in self.pending_turns] + extra
        self._mark_turns_sent()
        if (turns and turns[-1].get("role") != "user") or (not turns and not self.user_input_unanswered):
            # Gemini 2.x answers only a completed *user* turn.
            placeholder = self._placeholder()
            if placeholder:
                turns.append({"role": "user", "parts": [{"text": placeholder}]})
        self._send(actions, wire.client_content_frame(turns, True))

    def _placeholder(self) -> str:
        if self.opts.reply_placeholder is not None:
            return self.opts.reply_placeholder
        model = self.opts.setup.model.rsplit("/", 1)[-1]
        return "." if model.startswith(("gemini-2", "gemini-live-2", "gemini-1")) else ""

    def _flush_turns(self, actions: list[Action], extra: list[dict[str, Any]] | None = None) -> None:
        """Send pending history (no reply asked).  Not while a reply streams:
        ``clientContent`` would interrupt it."""
        if (not self.pending_turns and not extra) or (self.resp is not None and self.resp.started and not extra):
            return
        turns = [c for _, c in self.pending_turns] + (extra or [])
        self._mark_turns_sent()
        if turns[-1].get("role") == "user":
            self.user_input_unanswered = True
        self._send(actions, wire.client_content_frame(turns, False))

    def _mark_turns_sent(self) -> None:
        for item_id, _ in self.pending_turns:
            info = self.conversation.get(item_id)
            if info is not None:
                info.upstream = True
        self.pending_turns = []

    def _send_tool_outputs(self, actions: list[Action]) -> None:
        responses = [r for _, r in self.pending_outputs]
        for item_id, _ in self.pending_outputs:
            info = self.conversation.get(item_id)
            if info is not None:
                info.upstream = True
        for call in self.calls.values():
            if call.state == "answered":
                call.state = "sent"
        self.pending_outputs = []
        self._send(actions, wire.tool_response_frame(responses))

    def _response_cancel(self, event: Event) -> list[Action]:
        eid = event.event_id
        rid = event.data.get("response_id")
        resp = self.resp
        if resp is None or (rid is not None and rid != resp.id):
            raise ClientEventError(
                "Cancellation failed: no active response found" + (f" with id {rid!r}." if rid else "."),
                code="response_cancel_not_active", param="response_id" if rid else None, event_id=eid)
        actions: list[Action] = []
        # Drop the rest of Gemini's turn for this response.  In manual mode an
        # activityStart really stops generation (it is an interruption to Gemini).
        self.suppress_turn = True
        self.suppress_in_flight = resp.started
        if not self.config.vad and not self.activity_open:
            self._send(actions, wire.ACTIVITY_START_FRAME)
            self.activity_open = True
        self.commit_pending = False
        self._finish(actions, "cancelled", {"type": "cancelled", "reason": "client_cancelled"})
        return actions


def _commit_empty(ms: float, event_id: str | None) -> ClientEventError:
    return ClientEventError(
        f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms of audio, "
        f"but buffer only has {ms:.2f}ms of audio.",
        code="input_audio_buffer_commit_empty", event_id=event_id)

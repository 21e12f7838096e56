"""Gemini → client: replies, user turns and VAD events, interruptions, tools, usage.

Part of :class:`rt_gemini.translator.GeminiTranslator` (see :mod:`rt_gemini.state`).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from rt_core import Action, Event, Schedule, TimerFired, ToClient

from . import wire
from .responses import ResponseState
from .state import (
    COMMIT_TIMER,
    HELD_LIMIT,
    MAX_TOOL_REJECTIONS,
    MIN_COMMIT_MS,
    SPEECH_DETECT_LAG_MS,
    TOOLS_DISABLED_MESSAGE,
    Call,
    TranslatorState,
    UserTurn,
)
from .usage import usage_from_gemini

__all__ = ["GeminiSide"]

log = logging.getLogger(__name__)


class GeminiSide(TranslatorState):
    """What each Gemini server message does."""

    __slots__ = ()

    def _message(self, m: dict[str, Any], actions: list[Action]) -> None:
        if "setupComplete" in m:
            self._setup_complete(actions)
        sru = m.get("sessionResumptionUpdate")
        if isinstance(sru, dict):
            self._resumption_update(sru, actions)
        if "serverContent" in m or "toolCall" in m or "toolCallCancellation" in m or "usageMetadata" in m \
                or "voiceActivity" in m:
            if self.held is not None:
                self._hold(m, actions)
            elif self.resp is None and not self.suppress_turn and self._starts_reply(m) and self._should_hold():
                self._start_holding(m, actions)
            else:
                self._content(m, actions)
        ga = m.get("goAway")
        if isinstance(ga, dict):
            self._go_away(ga, actions)

    def _content(self, m: dict[str, Any], actions: list[Action]) -> None:
        va = m.get("voiceActivity")
        if isinstance(va, dict) and self.config.vad:
            kind = va.get("voiceActivityType")
            if kind == "ACTIVITY_START":
                self._speech_started(actions)
            elif kind == "ACTIVITY_END":
                turn = self.user_turn
                if turn is not None and not turn.committed:
                    self._commit_turn(actions, turn, speech_stopped=True)
        sc = m.get("serverContent")
        if not isinstance(sc, dict):
            sc = {}
        it = sc.get("inputTranscription")
        if isinstance(it, dict):
            self._input_transcript(it, actions)
        if sc.get("interrupted"):
            self._interrupted(actions)
        usage = m.get("usageMetadata")
        if isinstance(usage, dict) and self.resp is not None and not self.suppress_turn:
            self.resp.usage = usage_from_gemini(usage)
        mt = sc.get("modelTurn")
        if isinstance(mt, dict):
            for part in mt.get("parts") or ():
                if isinstance(part, dict):
                    self._model_part(part, actions)
        ot = sc.get("outputTranscription")
        if isinstance(ot, dict):
            text = ot.get("text")
            if isinstance(text, str) and text:
                self._transcript_out(text, actions)
        tc = m.get("toolCall")
        if isinstance(tc, dict):
            self._tool_call(tc, actions)
        tcc = m.get("toolCallCancellation")
        if isinstance(tcc, dict):
            self._tool_cancellation(tcc, actions)
        if sc.get("turnComplete"):
            self._turn_complete(actions)

    def _transcript_out(self, text: str, actions: list[Action]) -> None:
        if self.suppress_turn:
            return
        resp = self.resp
        if resp is None or (not resp.started and resp.origin == "client" and self.tool_turn_open):
            self.orphan_transcript.append(text)
            return
        resp = self._reply(actions)
        if resp is not None and resp.modalities == ["audio"]:
            self._open_audio_message(resp, actions)
            if resp.message is not None and not resp.message.closed:
                actions.extend(ToClient(e) for e in resp.transcript_delta(text))

    def _open_audio_message(self, resp: ResponseState, actions: list[Action]) -> None:
        if resp.message is None:
            actions.extend(ToClient(e) for e in resp.open_message("audio"))
            orphans, self.orphan_transcript = self.orphan_transcript, []
            for text in orphans:
                actions.extend(ToClient(e) for e in resp.transcript_delta(text))

    def _starts_reply(self, m: dict[str, Any]) -> bool:
        if m.get("toolCall"):
            return True
        sc = m.get("serverContent")
        if not isinstance(sc, dict):
            return False
        mt = sc.get("modelTurn")
        if isinstance(mt, dict):
            for part in mt.get("parts") or ():
                if isinstance(part, dict) and not part.get("thought") and (part.get("inlineData") or part.get("text")):
                    return True
        return False

    def _reply(self, actions: list[Action]) -> ResponseState | None:
        """The response Gemini's output belongs to; a server-initiated one if none."""
        if self.suppress_turn:
            return None
        self.tool_turn_open = False
        resp = self.resp
        if resp is None:
            self._vad_turn_end(actions)
            resp = self._new_response(actions, "server")
            resp.claimed = False
        if not resp.started:
            resp.started = True
            self.user_input_unanswered = False
            if self.commit_pending:
                self.commit_pending = False
                actions.append(Schedule(-1, TimerFired(COMMIT_TIMER)))
        return resp

    def _model_part(self, part: dict[str, Any], actions: list[Action]) -> None:
        if part.get("thought"):
            return
        blob = part.get("inlineData")
        if isinstance(blob, dict):
            data = blob.get("data")
            mime = str(blob.get("mimeType", ""))
            if not isinstance(data, str) or not mime.startswith("audio/"):
                return
            resp = self._reply(actions)
            if resp is None:
                return
            if resp.modalities != ["audio"]:
                log.debug("Gemini sent audio in a text session; dropped")
                return
            self._open_audio_message(resp, actions)
            if resp.message is None or resp.message.closed:
                return
            self._audio_out(resp, data, actions)
            return
        text = part.get("text")
        if isinstance(text, str) and text:
            resp = self._reply(actions)
            if resp is None:
                return
            if resp.modalities == ["audio"]:
                # Spoken words arrive as outputTranscription; model-turn text in an
                # audio session is not speech, and is shown only if no audio comes.
                resp.unspoken.append(text)
                return
            if resp.message is None:
                actions.extend(ToClient(e) for e in resp.open_message("text"))
            if resp.message is not None and not resp.message.closed:
                actions.extend(ToClient(e) for e in resp.text_delta(text))

    def _audio_delta(self, resp: ResponseState, data: str, json_safe: bool = False) -> str | None:
        """Gemini's audio (base64) in the client's output format, as the text of
        one ``response.output_audio.delta``; None when there is none to send.

        ``json_safe``: ``data`` came from :func:`wire.server_audio_part` (no
        escapes), so an identity conversion need not check its characters
        before they are spliced into the event's text."""
        conv = self.out_conv
        before = conv.ms_out
        try:
            out = conv.convert_b64(data, json_safe=json_safe)
        except ValueError:
            log.warning("Gemini sent audio that is not valid base64; dropped")
            return None
        return resp.audio_delta_text(out, conv.ms_out - before) if out else None

    def _audio_out(self, resp: ResponseState, data: str, actions: list[Action], json_safe: bool = False) -> None:
        text = self._audio_delta(resp, data, json_safe)
        if text is not None:
            actions.append(ToClient(Event("response.output_audio.delta", text)))

    def _open_audio_reply(self) -> ResponseState | None:
        """The reply whose audio message is open, when nothing holds or drops
        Gemini's audio: where a one-part audio message only adds a delta."""
        if self.held is not None or self.suppress_turn:
            return None  # _hold, or the turn is being dropped
        resp = self.resp
        if resp is None or not resp.started or resp.modalities != ["audio"]:
            return None  # a new reply, or audio where none is shown
        m = resp.message
        if m is None or m.closed:
            return None
        return resp

    def _streaming_audio(self, data: str) -> list[Action] | None:
        """The actions for a one-part audio message (:func:`wire.server_audio_part`)
        in the steady state -- a reply whose audio message is already open, or a
        turn being dropped -- else ``None``: the caller takes the general path.

        Exactly what :meth:`_message` does with that message in those states
        (the same checks in the same order, the same state changes), without
        walking its dicts.
        """
        if self.suppress_turn and self.held is None:
            return []  # _content → _model_part → _reply drops it
        resp = self._open_audio_reply()
        if resp is None:
            return None
        self.tool_turn_open = False  # as _reply
        actions: list[Action] = []
        self._audio_out(resp, data, actions, True)
        return actions

    #: What :meth:`quick_outbound` makes (docs/hooks.md, quick routes).
    quick_outbound_types = ("response.output_audio.delta",)

    def quick_outbound(self, frame: Any) -> str | None:
        """The client event's text for a Gemini frame in the steady state, or None.

        The steady state: a one-part audio message (:func:`wire.server_audio_part`)
        with audio in it, while a reply's audio message is open and the client
        takes Gemini's own output format.  Then this makes every change
        :meth:`outbound` makes and returns the text of the one
        ``response.output_audio.delta`` it would send.  Otherwise it changes
        nothing and returns None, and the frame takes the general way.
        """
        kind = type(frame)
        if (kind is not bytes and kind is not str) or not self.out_conv.identity:
            return None  # (converted output: the general way, without reading the frame twice)
        part = wire.server_audio_part(frame)
        if part is None or not part[1]:
            return None
        resp = self._open_audio_reply()
        if resp is None:
            return None
        self.tool_turn_open = False  # as _reply
        data = part[1]
        ms = self.out_conv.pass_b64(data)  # _audio_delta's identity conversion, in one call
        if ms is None:
            return self._audio_delta(resp, data, True)  # not None: an identity conversion of safe text returns it
        return resp.audio_delta_text(data, ms)

    def _turn_complete(self, actions: list[Action]) -> None:
        self.orphan_transcript = []
        if self.suppress_turn:
            self.suppress_turn = False
            self._complete_turn(actions)
            self._after_response(actions)
            return
        if self.tool_turn_open:
            self.tool_turn_open = False  # the end of the turn that asked for the call(s)
            return
        resp = self.resp
        if resp is not None and (resp.started or resp.origin == "client"):
            self._complete_turn(actions)
            self._finish(actions, "completed")
        else:
            self._complete_turn(actions)

    def _new_response(self, actions: list[Action], origin: str, *, metadata: Any = None,
                      tool_choice: Any = None) -> ResponseState:
        cfg = self.config
        resp = ResponseState(
            id=self.ids("resp"), conversation=self.conversation, emit=self.emit,
            modalities=list(cfg.output_modalities), voice=cfg.voice, output_format=cfg.output_format.to_openai(),
            max_output_tokens=cfg.max_output_tokens, metadata=metadata, origin=origin, tool_choice=tool_choice,
        )
        resp.claimed = origin == "client"
        self.resp = resp
        self.out_conv.reset()
        actions.append(ToClient(resp.created()))
        return resp

    def _finish(self, actions: list[Action], status: str, details: dict[str, Any] | None = None) -> None:
        resp = self.resp
        if resp is None:
            return
        if status == "completed" and resp.message is not None and not resp.message.closed and resp.message.kind == "audio":
            tail = self.out_conv.flush()
            if tail:
                ms = self.out_conv.dst.duration_ms(len(tail))
                actions.append(ToClient(resp.audio_delta(base64.b64encode(tail).decode("ascii"), ms)))
        else:
            self.out_conv.reset()
        actions.extend(ToClient(e) for e in resp.finish(status, details))
        if status == "completed":
            self.resumptions = 0
        self.auto_unclaimed = resp.id if (resp.origin == "server" and not resp.claimed and status == "completed") else None
        self.resp = None
        self._after_response(actions)

    def _after_response(self, actions: list[Action]) -> None:
        self._maybe_reconnect(actions)

    def _end_unsure_suppression(self) -> None:
        """A cancelled response that Gemini never started may never produce a turn
        to drop: new input ends the wait instead of swallowing the next reply."""
        if self.suppress_turn and not self.suppress_in_flight:
            self.suppress_turn = False

    def _interrupted(self, actions: list[Action]) -> None:
        if self.suppress_turn:
            return  # the end of a turn rt already cancelled (possibly by its own input)
        if self.config.vad:
            self._speech_started(actions)
        self.held = None
        if self.resp is not None:
            self.suppress_turn = True  # the rest of the interrupted turn (turnComplete) is dropped
            self.suppress_in_flight = True
            self._finish(actions, "cancelled", {"type": "cancelled", "reason": "turn_detected"})

    def _speech_started(self, actions: list[Action], *, at_reply: bool = False) -> None:
        turn = self.user_turn
        if turn is not None and not turn.committed:
            return
        self._complete_turn(actions)
        start = max(self.boundary_ms, self.input_ms - SPEECH_DETECT_LAG_MS)
        turn = self.user_turn = UserTurn(self.ids("item"), start)
        self._end_unsure_suppression()
        self.auto_unclaimed = None
        self.held = None
        if not at_reply:
            self.orphan_transcript = []  # stale: it came before the user spoke
        actions.append(ToClient(self.emit("input_audio_buffer.speech_started", audio_start_ms=int(start),
                                          item_id=turn.item_id)))

    def _vad_turn_end(self, actions: list[Action]) -> None:
        """Gemini started a reply on its own: under server VAD its VAD ended the user's turn."""
        if not self.config.vad:
            return
        turn = self.user_turn
        if turn is not None and not turn.committed:
            self._commit_turn(actions, turn, speech_stopped=True)
        elif self.input_ms - self.boundary_ms >= MIN_COMMIT_MS and not self.commit_pending:
            self._speech_started(actions, at_reply=True)
            if self.user_turn is not None and not self.user_turn.committed:
                self._commit_turn(actions, self.user_turn, speech_stopped=True)

    def _commit_turn(self, actions: list[Action], turn: UserTurn, *, speech_stopped: bool) -> None:
        """``speech_stopped`` (VAD) → ``committed`` → the user's audio item."""
        if speech_stopped:
            # As on OpenAI, the end is the end of the audio sent when the VAD
            # decided (so it includes the silence that ended the turn).
            end = max(turn.start_ms, self.input_ms)
            turn.end_ms = end
            actions.append(ToClient(self.emit("input_audio_buffer.speech_stopped", audio_end_ms=int(end),
                                              item_id=turn.item_id)))
        turn.committed = True
        self.boundary_ms = self.input_ms
        item = {"id": turn.item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        _info, previous = self.conversation.add(item, upstream=True)
        actions.append(ToClient(self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=turn.item_id)))
        actions.append(ToClient(self.emit("conversation.item.added", previous_item_id=previous, item=dict(item))))
        actions.append(ToClient(self.emit("conversation.item.done", previous_item_id=previous, item=dict(item))))
        for delta in turn.pending_deltas:
            actions.append(ToClient(self._transcript_delta_event(turn, delta)))
        turn.pending_deltas = []

    def _transcription_on(self) -> bool:
        return self.config.transcription is not None

    def _transcript_delta_event(self, turn: UserTurn, delta: str) -> dict[str, Any]:
        return self.emit("conversation.item.input_audio_transcription.delta", item_id=turn.item_id,
                         content_index=0, delta=delta)

    def _input_transcript(self, it: dict[str, Any], actions: list[Action]) -> None:
        text = it.get("text")
        turn = self.user_turn
        if isinstance(text, str) and text:
            if turn is None or turn.completed:
                if not self.config.vad or not text.strip():
                    return
                self._speech_started(actions)
                turn = self.user_turn
                assert turn is not None
            if not turn.chunks:
                text = text.lstrip()
                if not text:
                    return
            turn.chunks.append(text)
            if self._transcription_on():
                if turn.committed:
                    actions.append(ToClient(self._transcript_delta_event(turn, text)))
                else:
                    turn.pending_deltas.append(text)
        if it.get("finished") and turn is not None and turn.committed:
            self._complete_turn(actions)

    def _complete_turn(self, actions: list[Action]) -> None:
        """The user turn's transcript is final: ``…input_audio_transcription.completed``."""
        turn = self.user_turn
        if turn is None or turn.completed or not turn.committed:
            return
        turn.completed = True
        transcript = turn.transcript
        info = self.conversation.get(turn.item_id)
        if info is not None:
            info.item["content"] = [{"type": "input_audio", "transcript": transcript}]
        if self._transcription_on():
            end = turn.end_ms if turn.end_ms is not None else self.input_ms
            seconds = max(0.0, (end - turn.start_ms) / 1000)
            actions.append(ToClient(self.emit(
                "conversation.item.input_audio_transcription.completed", item_id=turn.item_id, content_index=0,
                transcript=transcript, usage={"type": "duration", "seconds": round(seconds, 3)})))

    def _should_hold(self) -> bool:
        return self.config.vad and not self.config.create_response and not self.commit_pending

    def _start_holding(self, m: dict[str, Any], actions: list[Action]) -> None:
        self._vad_turn_end(actions)
        self.held = [{"serverContent": {"outputTranscription": {"text": t}}} for t in self.orphan_transcript]
        self.orphan_transcript = []
        self._hold(m, actions)

    def _hold(self, m: dict[str, Any], actions: list[Action]) -> None:
        held = self.held
        assert held is not None
        sc = m.get("serverContent")
        if isinstance(sc, dict) and (sc.get("interrupted") or (held and held_complete(held) and _has_input(sc))):
            self.held = None  # the user spoke again: that reply is no longer wanted
            self._content(m, actions)
            return
        if len(held) >= HELD_LIMIT:
            log.warning("dropping a held Gemini reply: too long without response.create")
            self.held = None
            return
        held.append(m)
        if isinstance(sc, dict) and isinstance(sc.get("inputTranscription"), dict):
            # Transcripts belong to the user's turn, which is already committed.
            self._input_transcript(sc["inputTranscription"], actions)
            sc = {k: v for k, v in sc.items() if k != "inputTranscription"}
            held[-1] = {**m, "serverContent": sc}

    def _tool_call(self, tc: dict[str, Any], actions: list[Action]) -> None:
        fcs = [fc for fc in tc.get("functionCalls") or () if isinstance(fc, dict)]
        if not fcs:
            return
        resp = self._reply(actions)
        if resp is None:
            return
        choice = resp.tool_choice or self.config.tool_choice
        if choice == "none":
            resp.rejected_calls += 1
            if resp.rejected_calls <= MAX_TOOL_REJECTIONS:
                refusals = []
                for fc in fcs:
                    r: dict[str, Any] = {"name": str(fc.get("name", "")), "response": {"error": TOOLS_DISABLED_MESSAGE}}
                    if isinstance(fc.get("id"), str):
                        r = {"id": fc["id"], **r}
                    refusals.append(r)
                self._send(actions, wire.tool_response_frame(refusals))
            return
        if resp.message is not None and resp.message.kind == "audio" and not resp.message.closed:
            tail = self.out_conv.flush()
            if tail:
                actions.append(ToClient(resp.audio_delta(base64.b64encode(tail).decode("ascii"),
                                                         self.out_conv.dst.duration_ms(len(tail)))))
        for fc in fcs:
            gid = fc.get("id") if isinstance(fc.get("id"), str) and fc.get("id") else None
            call_id = gid or self.ids("call")
            name = str(fc.get("name", ""))
            args = fc.get("args") if isinstance(fc.get("args"), dict) else {}
            events, item_id = resp.function_call(call_id, name, json.dumps(args, ensure_ascii=False, separators=(",", ":")))
            actions.extend(ToClient(e) for e in events)
            self.calls[call_id] = Call(call_id, gid, name, item_id)
            self.call_names[call_id] = name
        # OpenAI ends a response at its function calls; the client answers and asks again.
        self._complete_turn(actions)
        self._finish(actions, "completed")
        self.tool_turn_open = True

    def _tool_cancellation(self, tcc: dict[str, Any], actions: list[Action]) -> None:
        for gid in tcc.get("ids") or ():
            call = self._call_by_gemini_id(gid, None)
            if call is None or call.state in ("cancelled", "sent"):
                continue
            call.state = "cancelled"
            self.pending_outputs = [o for o in self.pending_outputs if o[1].get("id") != gid]
            if call.item_id in self.conversation:
                self.conversation.remove(call.item_id)
                actions.append(ToClient(self.emit("conversation.item.deleted", item_id=call.item_id)))

    def _call_by_gemini_id(self, gid: Any, name: Any) -> Call | None:
        for call in self.calls.values():
            if gid is not None and call.gemini_id == gid:
                return call
            if gid is None and call.gemini_id is None and call.name == name and call.state == "answered":
                return call
        return None


def held_complete(held: list[dict[str, Any]]) -> bool:
    """The held reply's turn has ended (its ``turnComplete`` is held)."""
    for m in held:
        sc = m.get("serverContent")
        if isinstance(sc, dict) and sc.get("turnComplete"):
            return True
    return False


def _has_input(sc: dict[str, Any]) -> bool:
    it = sc.get("inputTranscription")
    return isinstance(it, dict) and bool(str(it.get("text") or "").strip())

"""Gemini ``usageMetadata`` → OpenAI ``response.usage``.

AI Studio names the output counts ``responseTokenCount`` /
``responseTokensDetails``; Vertex names them ``candidatesTokenCount`` /
``candidatesTokensDetails``.  Both are read whatever the platform, so a
deployment pointed at the other kind of endpoint still reports usage.

* ``input_tokens`` = prompt + tool-use prompt tokens; details by modality from
  ``promptTokensDetails`` (+ ``toolUsePromptTokensDetails``).
* ``cached_tokens`` = ``cachedContentTokenCount``, by modality from ``cacheTokensDetails``.
* ``output_tokens`` = response + thoughts tokens (OpenAI counts reasoning as output);
  details by modality from the response details (thoughts count as text).
* ``total_tokens`` = ``totalTokenCount`` (or the sum when absent).
"""

from __future__ import annotations

from typing import Any

__all__ = ["usage_from_gemini"]


def _by_modality(details: Any) -> dict[str, int]:
    out = {"TEXT": 0, "AUDIO": 0, "IMAGE": 0}
    if isinstance(details, list):
        for d in details:
            if not isinstance(d, dict):
                continue
            n = d.get("tokenCount")
            if not isinstance(n, int):
                continue
            modality = str(d.get("modality", "TEXT")).upper()
            if modality in ("VIDEO", "IMAGE"):
                out["IMAGE"] += n
            elif modality == "AUDIO":
                out["AUDIO"] += n
            else:
                out["TEXT"] += n
    return out


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def usage_from_gemini(meta: dict[str, Any]) -> dict[str, Any]:
    """The GA ``RealtimeResponseUsage`` for one ``usageMetadata`` object."""
    prompt = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
    response = _int(meta.get("responseTokenCount", meta.get("candidatesTokenCount")))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    cached = _int(meta.get("cachedContentTokenCount"))
    total = _int(meta.get("totalTokenCount")) or (prompt + response + thoughts)

    pin = _by_modality(meta.get("promptTokensDetails"))
    tool_in = _by_modality(meta.get("toolUsePromptTokensDetails"))
    cache = _by_modality(meta.get("cacheTokensDetails"))
    out = _by_modality(meta.get("responseTokensDetails", meta.get("candidatesTokensDetails")))
    return {
        "total_tokens": total,
        "input_tokens": prompt,
        "output_tokens": response + thoughts,
        "input_token_details": {
            "text_tokens": pin["TEXT"] + tool_in["TEXT"],
            "audio_tokens": pin["AUDIO"] + tool_in["AUDIO"],
            "image_tokens": pin["IMAGE"] + tool_in["IMAGE"],
            "cached_tokens": cached,
            "cached_tokens_details": {
                "text_tokens": cache["TEXT"],
                "audio_tokens": cache["AUDIO"],
                "image_tokens": cache["IMAGE"],
            },
        },
        "output_token_details": {
            "text_tokens": out["TEXT"] + thoughts,
            "audio_tokens": out["AUDIO"],
        },
    }

"""What the fake servers check of the images a request carries, as the real ones do
(protocols.md F.3, F.4, F.11)."""

from __future__ import annotations

import base64
import binascii
import re

_ALPHABET = re.compile(r"[^A-Za-z0-9+/=]")
OLLAMA_NO_VISION = ("Failed to create new sequence: failed to process inputs: "
                    "this model is missing data required for image input")
OLLAMA_UNKNOWN_FORMAT = "Failed to create new sequence: failed to process inputs: image: unknown format"
OLLAMA_V1_URL = "image URLs are not currently supported, please use base64 encoded data instead"
OLLAMA_V1_INVALID = "invalid image input"
_DATA_URL = re.compile(r"data:(image/(?:jpeg|jpg|png|webp|gif))?;base64,(.*)", re.S)


def kind(data: bytes) -> str | None:
    """The format of decoded image bytes, as the servers' decoders tell it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def ollama_problem(messages: list, vision: bool) -> tuple[int, str] | None:
    """Ollama's /api/chat: ``images`` are raw base64 strings (Go decodes them into []byte, so a
    ``data:`` prefix fails the JSON decoding); PNG, JPEG, WebP decoders; a model without a vision
    projector fails when the runner meets the image."""
    found = False
    for message in messages:
        images = message.get("images") if isinstance(message, dict) else None
        if images is None:
            continue
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            return 400, "json: cannot unmarshal value into Go struct field Message.messages.images of type api.ImageData"
        for image in images:
            if bad := _ALPHABET.search(image):
                return 400, f"illegal base64 data at input byte {bad.start()}"
            try:
                data = base64.b64decode(image, validate=True)
            except binascii.Error:
                return 400, "illegal base64 data at input byte 0"
            if kind(data) not in ("png", "jpeg", "webp"):
                return 500, OLLAMA_UNKNOWN_FORMAT
            found = True
    if found and not vision:
        return 500, OLLAMA_NO_VISION
    return None


def openai_images(messages: list, *, web_urls: bool = True) -> tuple[list[str], str | None]:
    """The formats of the images in OpenAI content parts, and what is wrong with the first bad
    one, in Ollama's /v1 wording (the strictest of the servers). ``web_urls``: the server fetches
    http(s) image URLs (OpenRouter, DeepSeek, llama.cpp do; Ollama's /v1 does not)."""
    kinds: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
                return kinds, "invalid content part"
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    return kinds, "invalid content part"
                continue
            url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if not isinstance(url, str):
                return kinds, OLLAMA_V1_INVALID
            if url.startswith(("http://", "https://")):
                if not web_urls:
                    return kinds, OLLAMA_V1_URL
                kinds.append("url")
                continue
            match = _DATA_URL.fullmatch(url)
            if match is None:
                return kinds, OLLAMA_V1_INVALID
            try:
                data = base64.b64decode(match.group(2), validate=True)
            except binascii.Error:
                return kinds, OLLAMA_V1_INVALID
            kinds.append(kind(data) or "unknown")
    return kinds, None

"""Files added to a prompt: reading them, telling text from images from other binaries, the size
of an image from its header, the limits, what an attachment costs in the window, and how it reads
in a request. Backends put the parts in their wire format (Ollama ``images``, OpenAI content
parts: protocols.md F.3, F.4); front ends show chips and refusals.

No image library: the header of a PNG, JPEG, WebP or GIF says its pixel size in its first bytes,
and scaling an image would need one (the issue rules out a new run-time dependency).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from r1chat.backends.base import BackendError, Capabilities, Support
from r1chat.conversation import AttachmentPart, Message
from r1chat.sanitize import strip_controls
from r1chat.units import human_size

TEXT_LIMIT = 200_000  # bytes of one text file (config: attachment_kb)
IMAGE_LIMIT = 10_000_000  # bytes of one image (config: image_mb)
# What an image takes in the window: Ollama counts 768 tokens an image when it fits a prompt
# (protocols.md F.10, server/prompt.go); other servers say only afterwards (usage.prompt_tokens).
IMAGE_TOKENS = 768
SNIFF_BYTES = 8192  # read to tell text from binary, and an image's type and size
STDIN_NAME = "stdin"

PNG, JPEG, WEBP, GIF = "image/png", "image/jpeg", "image/webp", "image/gif"
FORMAT_NAMES = {PNG: "PNG", JPEG: "JPEG", WEBP: "WebP", GIF: "GIF"}
SUFFIXES = {PNG: "png", JPEG: "jpg", WEBP: "webp", GIF: "gif"}


class AttachmentRefused(BackendError):
    """A file that cannot go with a prompt; the message is the one line to show."""


@dataclass(frozen=True, slots=True)
class Limits:
    text: int = TEXT_LIMIT
    image: int = IMAGE_LIMIT


# --- sniffing ------------------------------------------------------------------------------------


def image_type(head: bytes) -> str | None:
    """The media type of an image from its first bytes (its magic number), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    return None


def image_size(data: bytes, media_type: str) -> tuple[int, int] | None:
    """(width, height) read from the image's header, or None when the header is not readable."""
    try:
        if media_type == PNG and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if media_type == GIF:
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if media_type == WEBP:
            return _webp_size(data)
        if media_type == JPEG:
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 14-bit sizes after the frame's start code
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: two 14-bit sizes minus one, after the signature byte
        if data[20:21] != b"\x2f":
            return None
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas sizes minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# Start-of-frame markers carry the size; C4 (Huffman tables), C8 and CC (arithmetic coding) do not.
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def looks_binary(head: bytes) -> bool:
    """A NUL, or more than a few control bytes other than whitespace, in the first bytes."""
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r\f\x1b")
    return controls > max(2, len(head) // 100)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without its BOM); anything else that is not binary as Latin-1, which never fails."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --- reading -------------------------------------------------------------------------------------


def read_file(path: str | os.PathLike[str], limits: Limits = Limits(), *, name: str | None = None) -> AttachmentPart:
    """The attachment ``path`` makes, named ``name`` (default: the path as given); raises
    ``AttachmentRefused`` with one line for a folder, an unreadable, binary or too large file."""
    shown = name or os.fspath(path)
    target = Path(path).expanduser()
    try:
        if target.is_dir():
            raise AttachmentRefused(f"{shown} is a folder: attach the files in it one by one.")
        if target.exists() and not target.is_file():  # a device or a pipe: it may never end
            raise AttachmentRefused(f"{shown} is not a regular file.")
        size = target.stat().st_size
        with open(target, "rb") as file:
            head = file.read(SNIFF_BYTES)
            image = image_type(head) is not None
            if not image and looks_binary(head):
                raise AttachmentRefused(_binary(shown))  # said before its size: the size is not why
            limit = limits.image if image else limits.text
            _check_size(shown, size, limit, image)
            data = head + file.read(limit + 1 - len(head))  # a file growing meanwhile stops here
    except FileNotFoundError:
        raise AttachmentRefused(f"{shown}: no such file.") from None
    except OSError as exc:
        raise AttachmentRefused(f"Cannot read {shown}: {(exc.strerror or str(exc)).lower()}.") from None
    return from_bytes(data, shown, limits)


def from_bytes(data: bytes, name: str, limits: Limits = Limits()) -> AttachmentPart:
    """The attachment ``data`` makes (read from a file or stdin), named ``name``."""
    media_type = image_type(data[:SNIFF_BYTES])
    _check_size(name, len(data), limits.image if media_type else limits.text, media_type is not None)
    if media_type is not None:
        size = image_size(data[:65536], media_type)
        width, height = size if size is not None else (None, None)
        return AttachmentPart(
            name, media_type, size=len(data), digest=hashlib.sha256(data).hexdigest(), width=width, height=height, data=data
        )
    if looks_binary(data[:SNIFF_BYTES]):
        raise AttachmentRefused(_binary(name))
    return AttachmentPart(name, "text/plain", text=decode_text(data), size=len(data))


def _binary(name: str) -> str:
    return f"{name} is a binary file: only text files and PNG, JPEG or WebP images can be attached."


def _check_size(name: str, size: int, limit: int, image: bool) -> None:
    if size > limit:
        what, key = ("images", "image_mb") if image else ("text files", "attachment_kb")
        raise AttachmentRefused(
            f"{name} is {human_size(size)}; {what} are limited to {human_size(limit)} ({key} in config.toml)."
        )


# --- images and models ---------------------------------------------------------------------------


def is_image(part: AttachmentPart) -> bool:
    return part.media_type.startswith("image/")


def image_refusal(part: AttachmentPart, capabilities: Capabilities, model: str) -> str | None:
    """Why ``model`` cannot take the image ``part`` (one line), or None when it can or may."""
    if not is_image(part):
        return None
    if capabilities.images is Support.NO:
        return (f"{model} does not take images, so {part.name} cannot be attached: "
                "pick a vision model (ctrl+o / --model), or attach text.")
    if part.media_type not in capabilities.image_formats:
        kinds = ", ".join(FORMAT_NAMES[t] for t in capabilities.image_formats if t in FORMAT_NAMES)
        kind = FORMAT_NAMES.get(part.media_type, part.media_type)
        return f"{part.name} is a {kind} image, which this server does not decode: convert it to {kinds}."
    return None


def check_images(parts: Iterable[AttachmentPart], capabilities: Capabilities, model: str) -> None:
    """Raise ``AttachmentRefused`` for the first image ``model`` cannot take."""
    for part in parts:
        if (why := image_refusal(part, capabilities, model)) is not None:
            raise AttachmentRefused(why)


# --- the window and the chip -------------------------------------------------------------------


LANGUAGES = {
    "py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript", "jsx": "jsx", "ts": "typescript",
    "tsx": "tsx", "rs": "rust", "go": "go", "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "hpp": "cpp",
    "cs": "csharp", "java": "java", "kt": "kotlin", "swift": "swift", "rb": "ruby", "php": "php", "lua": "lua",
    "sh": "bash", "bash": "bash", "zsh": "zsh", "fish": "fish", "ps1": "powershell", "sql": "sql", "r": "r",
    "html": "html", "css": "css", "scss": "scss", "json": "json", "toml": "toml", "yaml": "yaml", "yml": "yaml",
    "xml": "xml", "md": "markdown", "tex": "latex", "hs": "haskell", "ml": "ocaml", "ex": "elixir",
    "erl": "erlang", "clj": "clojure", "scala": "scala", "dart": "dart", "zig": "zig", "nim": "nim",
    "pl": "perl", "vim": "vim", "diff": "diff", "patch": "diff", "ini": "ini", "cfg": "ini", "csv": "csv",
}
NAMED = {"makefile": "make", "dockerfile": "dockerfile", "cmakelists.txt": "cmake"}


def language(name: str) -> str:
    """The fence language for a file name, from its extension ('' when none is known)."""
    base = os.path.basename(name).lower()
    if base in NAMED:
        return NAMED[base]
    return LANGUAGES.get(base.rpartition(".")[2], "") if "." in base else ""


def fenced(part: AttachmentPart) -> str:
    """A text attachment as the model and a Markdown export read it: the path, then the text in a
    fence longer than any run of backticks inside it."""
    text = part.text or ""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    header = " ".join(part.name.splitlines())  # a file name may hold a newline; the header is one line
    return f"{header}\n{fence}{language(part.name)}\n{text.rstrip(chr(10))}\n{fence}"


def dropped_note(part: AttachmentPart) -> str:
    return f"[image {part.name} was attached here; left out of this request]"


def tokens(part: AttachmentPart) -> int:
    """About how many tokens the attachment takes in the window."""
    from r1chat.window import estimate_text

    return IMAGE_TOKENS if is_image(part) else estimate_text(fenced(part))


def short_count(count: int) -> str:
    return f"{count} tokens" if count < 1000 else f"{count / 1000:.1f}k tokens"


def describe(part: AttachmentPart) -> str:
    """``app.py · 3.2k tokens`` or ``cat.png · 800×600 · 41.0 KB``: what a chip and a listing say."""
    base = " ".join(strip_controls(os.path.basename(part.name.rstrip("/")) or part.name).split())
    if is_image(part):
        pixels = f"{part.width}×{part.height}" if part.width and part.height else FORMAT_NAMES.get(part.media_type, "image")
        return f"{base} · {pixels} · {human_size(part.size)}"
    return f"{base} · {short_count(tokens(part))}"


# --- in a request --------------------------------------------------------------------------------


def request_text(message: Message) -> str:
    """The text a message sends: its own text, then each text attachment as a fenced block (and a
    note where an image was left out). A message without attachments sends its ``content``."""
    extras = [
        fenced(part) if not is_image(part) else dropped_note(part)
        for part in attachments_of(message)
        if (part.text is not None and not is_image(part)) or part.dropped
    ]
    return "\n\n".join([message.content, *extras] if message.content else extras) if extras else message.content


def request_images(message: Message) -> list[AttachmentPart]:
    """The images a message sends (those with their bytes, not left out)."""
    return [p for p in attachments_of(message) if is_image(p) and p.data is not None and not p.dropped]


def attachments_of(message: Message) -> list[AttachmentPart]:
    return [part for part in message.parts if isinstance(part, AttachmentPart)]


def pasted_path(text: str, folder: Path) -> Path | None:
    """The existing file a paste names (a terminal drops a file as its path: quoted, with
    backslash-escaped spaces, or as a file:// URL), relative to ``folder``; None for other text."""
    from urllib.parse import unquote, urlsplit

    text = text.strip()
    if not text or "\n" in text or len(text) > 4096:
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    elif text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    elif "\\ " in text:
        text = text.replace("\\ ", " ")
    try:
        path = Path(text).expanduser()
        path = path if path.is_absolute() else folder / path
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None

"""Search as you type: what the user typed as a safe FTS5 query, the read-only queries behind
``Store.search``, and marked text cut down to one line with the spans of the matched words.

The index itself (FTS5 tables and the triggers that keep them in step) is part of the schema in
``store.py``; ``Store.search`` calls in here holding its lock, inside one read transaction.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Literal

from r1chat.sanitize import strip_controls

Where = Literal["title", "prompt", "answer", "trace"]

# SQLite puts these around each matched term in a snippet; they are parsed away before a hit
# is returned, so a stray one in the stored text can at worst shift a highlight.
OPEN, CLOSE, ELLIPSIS = "\x02", "\x03", "…"

# A pasted paragraph is still a search, not a thousand-phrase query.
MAX_TERMS = 16


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    # None when the hit is in the conversation's title.
    message_id: int | None
    where: Where
    # One line of plain text around the match: no control characters, whitespace collapsed.
    snippet: str
    # [start, end) offsets into ``snippet`` of each matched term, in order.
    matches: tuple[tuple[int, int], ...]
    # bm25, lower is better; 0.0 when the database has no full-text index.
    score: float
    updated_at: float
    # Places in the conversation that match (its title and each message), this one included.
    match_count: int = 1
    # Which exchange of the conversation the message is in, from 1; None for a title hit.
    turn: int | None = None

    def marked(self, open_mark: str, close_mark: str) -> str:
        """The snippet with each match wrapped in the two marks (ANSI bold, ``**``, ...), and no
        control sequence of its own: the marks may be escape sequences, the text never is."""
        parts, last = [], 0
        for start, end in self.matches:
            parts += [strip_controls(self.snippet[last:start]), open_mark, strip_controls(self.snippet[start:end]), close_mark]
            last = end
        parts.append(strip_controls(self.snippet[last:]))
        return "".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "conversation_id": self.conversation_id,
            "title": self.conversation_title,
            "message_id": self.message_id,
            "where": self.where,
            "snippet": self.snippet,
            "matches": [list(span) for span in self.matches],
            "score": self.score,
            "updated_at": self.updated_at,
            "match_count": self.match_count,
            "turn": self.turn,
        }


_UNSEARCHABLE = re.compile("[\x00\ud800-\udfff]")


def search_terms(text: str) -> list[str]:
    """The words of what was typed, without those that hold no letter or digit (``"``, ``*``, ``(``)."""
    # NUL ends an FTS5 string early; a lone surrogate (a terminal's undecodable byte) cannot be
    # passed to SQLite at all.
    words = _UNSEARCHABLE.sub(" ", text).split()
    return [w for w in words if any(c.isalnum() for c in w)][:MAX_TERMS]


def fts_query(text: str) -> str | None:
    """An FTS5 query matching rows that hold every word, the last one as a prefix; None if no words.

    Each word is a quoted string, so FTS5 operators (AND, NEAR, ``*``, ``^``, parentheses, column
    filters) typed by the user are only text. FTS5 tokenizes inside the quotes with the index's own
    tokenizer, so "foo-bar" matches the phrase "foo bar" exactly as the index stored it.
    """
    words = search_terms(text)
    if not words:
        return None
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"  # typing "quaternio" already finds "quaternion"
    return " ".join(quoted)


# --- queries ---------------------------------------------------------------------------------

# At most ``per`` hits per conversation: a message before the title (a title hit opens nowhere
# in particular, and the title is usually the first prompt anyway), then the best. Conversations
# come best match first, then the most recently updated; a conversation's hits stay together.
_RANKED = (
    ", ranked AS (SELECT hits.*, c.title, c.updated_at,"
    " row_number() OVER (PARTITION BY hits.conversation_id"
    "  ORDER BY hits.message_id IS NULL, score, hits.message_id DESC) AS nth,"
    " count(*) OVER (PARTITION BY hits.conversation_id) AS match_count,"
    " min(score) OVER (PARTITION BY hits.conversation_id) AS best"
    " FROM hits JOIN conversations c ON c.id = hits.conversation_id)"
    " SELECT * FROM ranked WHERE :per IS NULL OR nth <= :per"
    " ORDER BY best, updated_at DESC, conversation_id DESC, nth LIMIT :limit"
)


def _turns(db: sqlite3.Connection, ids: list[int]) -> dict[int, int]:
    """The exchange each message is in, counted from 1 in its conversation.

    An exchange is known by its first prompt's id (``exchange_id``; a message stored before
    exchanges existed is its own), and exchanges start in id order, so the turn of a message is
    the number of exchanges begun by it.
    """
    if not ids:
        return {}
    rows = db.execute(
        "SELECT m.id, (SELECT count(DISTINCT coalesce(u.exchange_id, u.id)) FROM messages u"
        "  WHERE u.conversation_id = m.conversation_id AND u.role = 'user' AND u.id <= m.id"
        "  AND coalesce(u.exchange_id, u.id) <= coalesce(m.exchange_id, m.id))"
        f" FROM messages m WHERE m.id IN {_in(ids)}",
        ids,
    )
    return {r[0]: max(r[1], 1) for r in rows}


# Below this many characters typed, matches are listed newest first without ranking: "t*" matches
# nearly every message of a year of traces, and ranking them all took seconds.
RANKED_FROM = 3
# Unranked, the newest this many matching rows (of titles, and of messages) per hit asked for.
_NEWEST_PER_HIT = 20
# Ranked, the newest this many matching messages (and titles) are ranked: all of them for any but
# the commonest words. bm25 reads every match's positions, and a word in half of a year's
# messages (100,000) took seconds; read newest first, FTS5 stops at the limit.
RANK_WINDOW = 5_000


def ranked(text: str) -> bool:
    """Whether a search for ``text`` is ranked by relevance (else: newest matches first)."""
    return sum(len(word) for word in search_terms(text)) >= RANKED_FROM


def search_index(
    db: sqlite3.Connection, match: str, limit: int, per: int | None, width: int, *, rank: bool = True
) -> list[SearchHit]:
    """``match`` (from ``fts_query``) over the FTS5 index, ranked by bm25: a title counts twice,
    a prompt or an answer twice a trace; the newest ``RANK_WINDOW`` matches are ranked. Without
    ``rank``, the newest few matches, unranked. Either way a conversation's count of matches
    counts among those read."""
    # FTS5 walks its rowids backwards and stops at the LIMIT: the newest rows are read first.
    title_score, message_score = ("2.0 * bm25(search_titles)", "bm25(search_messages, 2.0, 1.0, 1.0)") if rank else ("0.0", "0.0")
    rows = db.execute(
        "WITH hits AS ("
        " SELECT * FROM (SELECT rowid AS conversation_id, NULL AS message_id, NULL AS role,"
        f" {title_score} AS score FROM search_titles WHERE search_titles MATCH :match"
        " ORDER BY rowid DESC LIMIT :newest)"
        " UNION ALL"
        " SELECT m.conversation_id, m.id, m.role, found.score FROM (SELECT rowid,"
        f" {message_score} AS score FROM search_messages WHERE search_messages MATCH :match"
        " ORDER BY rowid DESC LIMIT :newest) AS found JOIN messages m ON m.id = found.rowid)" + _RANKED,
        {"match": match, "per": per, "limit": limit, "newest": RANK_WINDOW if rank else limit * _NEWEST_PER_HIT},
    ).fetchall()
    # Marked text for the hits returned only: marking reads the row's text (a whole trace).
    titles = _highlights(db, "search_titles", 0, match, [r["conversation_id"] for r in rows if r["message_id"] is None])
    ids = [r["message_id"] for r in rows if r["message_id"] is not None]
    # A message is found where all the words are (its prompt or answer first); where they are
    # spread over both, in the trace, which holds at least one of them.
    # An answer's tool calls and results come next, and are shown as the answer.
    in_content = _matching(db, f"{{content}} : ({match})", ids)
    in_tools = _matching(db, f"{{tools}} : ({match})", [i for i in ids if i not in in_content])
    contents = _highlights(db, "search_messages", 0, match, [i for i in ids if i in in_content])
    contents |= _highlights(db, "search_messages", 2, match, list(in_tools))
    traces = _highlights(db, "search_messages", 1, match, [i for i in ids if i not in in_content and i not in in_tools])
    turns = _turns(db, ids)
    hits = []
    for row in rows:
        if row["message_id"] is None:
            hits.append(_hit(row, "title", *parse_snippet(titles.get(row["conversation_id"], row["title"]))))
        elif row["message_id"] in traces:
            hits.append(_hit(row, "trace", *excerpt(traces[row["message_id"]], width), turns=turns))
        elif row["message_id"] in contents:
            where: Where = "prompt" if row["role"] == "user" else "answer"
            hits.append(_hit(row, where, *excerpt(contents[row["message_id"]], width), turns=turns))
    return hits


def _in(ids: list[int]) -> str:
    return f"({', '.join('?' * len(ids))})"


def _matching(db: sqlite3.Connection, match: str, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = db.execute(
        f"SELECT rowid FROM search_messages WHERE search_messages MATCH ? AND rowid IN {_in(ids)}", [match, *ids]
    )
    return {r[0] for r in rows}


def _highlights(db: sqlite3.Connection, table: str, column: int, match: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.execute(
        f"SELECT rowid, highlight({table}, {column}, '{OPEN}', '{CLOSE}') FROM {table}"
        f" WHERE {table} MATCH ? AND rowid IN {_in(ids)}",
        [match, *ids],
    )
    return dict(rows.fetchall())


def search_like(db: sqlite3.Connection, words: list[str], limit: int, per: int | None, width: int) -> list[SearchHit]:
    """Without FTS5: every word as a substring (ASCII case-insensitive), newest first."""
    patterns = {
        f"w{n}": "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for n, w in enumerate(words)
    }
    like = "{column} LIKE :{name} ESCAPE '\\'"
    in_title = " AND ".join(like.format(column="title", name=n) for n in patterns)
    in_message = " AND ".join(
        f"({like.format(column='content', name=n)} OR {like.format(column='reasoning', name=n)}"
        f" OR {like.format(column='tools', name=n)})" for n in patterns
    )
    rows = db.execute(
        "WITH hits AS ("
        f" SELECT id AS conversation_id, NULL AS message_id, NULL AS role, 0.0 AS score FROM conversations"
        f" WHERE {in_title} UNION ALL"
        f" SELECT conversation_id, id, role, 0.0 FROM messages WHERE role != 'system' AND {in_message})" + _RANKED,
        {**patterns, "per": per, "limit": limit},
    ).fetchall()
    ids = [r["message_id"] for r in rows if r["message_id"] is not None]
    found = db.execute(f"SELECT id, content, reasoning, tools FROM messages WHERE id IN {_in(ids)}", ids)
    texts = {r[0]: (r[1], r[2], r[3] or "") for r in found}
    turns = _turns(db, ids)
    hits = []
    for row in rows:
        if row["message_id"] is None:
            hits.append(_hit(row, "title", *plain_snippet(row["title"], words, width=width)))
        elif row["message_id"] in texts:
            content, reasoning, tools = texts[row["message_id"]]
            if all(w.lower() in content.lower() for w in words):
                where: Where = "prompt" if row["role"] == "user" else "answer"
                hits.append(_hit(row, where, *plain_snippet(content, words, width=width), turns=turns))
            elif all(w.lower() in tools.lower() for w in words):
                hits.append(_hit(row, "answer", *plain_snippet(tools, words, width=width), turns=turns))
            else:
                hits.append(_hit(row, "trace", *plain_snippet(reasoning, words, width=width), turns=turns))
    return hits


def _hit(
    row: sqlite3.Row,
    where: Where,
    snippet: str,
    matches: tuple[tuple[int, int], ...],
    turns: dict[int, int] | None = None,
) -> SearchHit:
    return SearchHit(
        conversation_id=row["conversation_id"],
        conversation_title=row["title"],
        message_id=row["message_id"],
        where=where,
        snippet=snippet,
        matches=matches,
        score=row["score"],
        updated_at=row["updated_at"],
        match_count=row["match_count"],
        turn=(turns or {}).get(row["message_id"]),
    )


# --- snippets --------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def parse_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text with OPEN/CLOSE marks -> one clean line and the spans the marks enclosed."""
    pieces: list[tuple[str, bool]] = []
    inside, start = False, 0
    for index, char in enumerate(marked):
        if char == OPEN and not inside or char == CLOSE and inside:
            pieces.append((marked[start:index], inside))
            inside, start = not inside, index + 1
    pieces.append((marked[start:], inside))

    text, spans = "", []
    for piece, is_match in pieces:
        piece = _SPACE.sub(" ", strip_controls(piece))
        if text.endswith(" ") and piece.startswith(" "):
            piece = piece[1:]
        if not text:
            piece = piece.lstrip(" ")
        if is_match and piece.strip():
            # A span covers the term, not the space a collapsed newline left beside it.
            lead = len(piece) - len(piece.lstrip(" "))
            spans.append((len(text) + lead, len(text) + len(piece.rstrip(" "))))
        text += piece
    return text.rstrip(" "), tuple(spans)


_BREAK = re.compile(r"\s")


def excerpt(marked: str, width: int = 100) -> tuple[str, tuple[tuple[int, int], ...]]:
    """About ``width`` characters of a marked text around its best match, as ``parse_snippet``.

    The best match starts the window holding the most distinct matched words (the first such).
    SQLite's own snippet() costs time in the square of the matches in a column (a 60 kB trace
    and a one-letter prefix: 30 ms a row), so the index marks the whole text with highlight(),
    which is linear (4 ms), and the window is chosen here.
    """
    opens = [m.start() for m in re.finditer(OPEN, marked)]
    if not opens:
        end = len(marked) if len(marked) <= width else _word_end(marked, width, 0)
        return parse_snippet(marked[:end] + (ELLIPSIS if end < len(marked) else ""))
    words = []
    for o in opens:
        close = marked.find(CLOSE, o)
        words.append(marked[o + 1 : close if close != -1 else o + 1].lower())
    counts: dict[str, int] = {}
    best, best_count, right = 0, 0, 0
    for left, position in enumerate(opens):
        while right < len(opens) and opens[right] < position + width:
            counts[words[right]] = counts.get(words[right], 0) + 1
            right += 1
        if len(counts) > best_count:
            best, best_count = left, len(counts)
        counts[words[left]] -= 1
        if not counts[words[left]]:
            del counts[words[left]]
    position = opens[best]
    # A quarter of the window before the match, unless the text ends sooner: a short prompt shows whole.
    begin = max(0, min(position - width // 4, len(marked) - width))
    if begin:
        space = _BREAK.search(marked, begin, position)
        begin = space.end() if space else position
    end = _word_end(marked, begin + width, position)
    return parse_snippet(
        (ELLIPSIS if begin else "") + marked[begin:end] + (ELLIPSIS if end < len(marked) else "")
    )


def _word_end(text: str, end: int, floor: int) -> int:
    """``end`` moved back to a space (not before ``floor``), and out of a marked word."""
    if end >= len(text):
        return len(text)
    space = max(text.rfind(" ", floor, end), text.rfind("\n", floor, end))
    end = space if space > floor else end
    if text.rfind(OPEN, 0, end) > text.rfind(CLOSE, 0, end):
        close = text.find(CLOSE, end)
        end = len(text) if close == -1 else close + 1
    return end


def plain_snippet(text: str, words: list[str], *, width: int = 100) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet made in Python, for a database without FTS5: each word marked where it appears."""
    text = text.replace(OPEN, "").replace(CLOSE, "")
    if words:
        pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
        text = pattern.sub(lambda m: OPEN + m.group(0) + CLOSE, text)
    return excerpt(text, width)


def term_spans(text: str, words: list[str] | tuple[str, ...]) -> list[tuple[int, int]]:
    """[start, end) of each place in ``text`` that one of ``words`` matches, ignoring case, as the
    query of ``fts_query`` does: each a whole word, the last also the start of a longer one. What
    a message opened from a search highlights. (The index also folds diacritics and splits words
    at punctuation; this matches the words as typed, which is what the reader sees.)"""
    words = [w for w in words if w]
    if not words:
        return []
    whole = "|".join(re.escape(w) for w in sorted(words[:-1], key=len, reverse=True))
    alternatives = [rf"{re.escape(words[-1])}\w*"] + ([rf"(?:{whole})(?!\w)"] if whole else [])
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]

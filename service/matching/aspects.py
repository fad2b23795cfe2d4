"""A query's needs (aspects): a project description often names several ("GaN power transistors and
EUV lithography"), and one vector for the whole collapses to the dominant one. Here a text is cut
into pieces (its paragraphs or list items; a short text into its sentences or coordinated clauses),
the pieces are embedded, and pieces about the same thing are merged (average linkage while two
groups are at least `aspect_merge_similarity` alike) into at most MAX_ASPECTS needs. A query with one need has no
aspects: it is matched as a whole, as before. The method and its threshold were chosen on the
multi-aspect evaluation set (docs/evaluation.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kernel.errors import InvalidInput

MAX_ASPECTS = 4
MAX_PIECES = 12  # a text of more pieces is a document, not a list of needs: matched as a whole
MAX_ASPECT_CHARS = 2_000
SHORT_TEXT_WORDS = 24  # a one-paragraph text this short is cut into its sentences, or its clauses
CLAUSE_WORDS = 6  # ... where every clause is a term of at most this many words
LABEL_CHARS = 80

# paragraphs: blank lines, or lines that open a list item ("- ", "* ", "1. ", "(a) ", "・")
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•・]|\d+[.)]|\([a-z0-9]\))\s*)")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BULLET = re.compile(r"^\s*(?:[-*•・]|\d+[.)]|\([a-z0-9]\))\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])|\n+")
# coordination between needs: "A and B", "A, B and C", "A as well as B"; in Japanese A、B / AとB / A及びB
_CLAUSE = re.compile(
    r",\s*(?:and\s+|or\s+)?|(?<!\s)\s+(?:and|as well as|plus|together with|combined with|along with)\s+|[、，]\s*"
    r"|(?<=[^\u3040-\u309f\s])と(?=[^\u3040-\u309f\s])|および|及び|並びに|ならびに",
    re.IGNORECASE,
)
# a lead-in that says a partner is sought ("We seek partners for ..."), cut from the piece it opens
_LEAD_IN = re.compile(
    r"^(?:we|i)\s+(?:also\s+)?(?:are\s+|would\s+like\s+to\s+)?(?:seek|seeking|look|looking|need|want|search|searching)\s+"
    r"(?:for\s+)?(?:an?\s+|some\s+)?(?:international\s+|foreign\s+)?(?:(?:partners?|collaborators?|experts?|researchers?|groups?)\s+)?"
    r"(?:(?:for|in|on|with|who\s+work\s+on|working\s+on|with\s+expertise\s+in)\s+)?", re.IGNORECASE)
# words that open a clause depending on the one before it
_DEPENDENT = frozenset("""
where when how what which who whose whether why while to with without within by including include includes during into
from for of on in at that so because as than through via using making taking
""".split())
_WORD = re.compile(r"[^\W\d_]{2,}|[\u3040-\u30ff\u3400-\u9fff]+")
# words that say that a partner is sought, not what for: a piece made only of these is no need
_GENERIC = frozenset("""
a an the we our us i you they this that these those is are be to of for in on at by with from into about seek seeking
look looking need needs needed want wanting partner partners collaborator collaborators collaboration cooperation
project projects research researcher researchers study studies work working team teams expert experts expertise
international japan japanese foreign abroad field fields area areas topic topics new novel also both other such
who whose which can could would will please find finding want help develop development
and or but nor as its it their there here than then via using based vol no pp part chapter
""".split())


@dataclass(frozen=True)
class Aspect:
    """One need of a query: its text (the pieces that say it) and where it lies in the query's space."""

    text: str
    vector: np.ndarray

    @property
    def label(self) -> str:
        return self.text if len(self.text) <= LABEL_CHARS else self.text[: LABEL_CHARS - 1].rstrip() + "…"


def pieces(text: str) -> list[str]:
    """The parts of a text that may each state a need: its paragraphs or list items where it has
    several; else, where the whole is short, its sentences or lines, or its coordinated clauses
    ("A and B"). A longer single paragraph is one need: the sentences of an abstract (background,
    method, result) are not needs, and splitting them cost the held-out set's MRR
    (docs/evaluation.md). A piece of one content word ("China" in "... in Wuhan, China") belongs
    to the one before it; pieces that only say that a partner is sought are dropped, and a
    lead-in ("We seek partners for") is cut."""
    text = _SPACES.sub(" ", text.strip())
    spans = _spans(_PARAGRAPH, text, 0, len(text))
    if len(spans) <= 1:
        if _length(_LEAD_IN.sub("", text)) > SHORT_TEXT_WORDS:
            return [text]  # one need: matched as a whole
        spans = _spans(_SENTENCE_END, text, 0, len(text))
        if len(spans) == 1:
            clauses = _joined(text, _spans(_CLAUSE, text, *spans[0]))
            # a list of terms is a list of needs; longer clauses are parts of one description
            return [_clean(text[a:b]) for a, b in clauses] if all(_length(_clean(text[a:b])) <= CLAUSE_WORDS for a, b in clauses) \
                else [text]
    found = [_clean(text[a:b]) for a, b in _joined(text, spans)]
    return found if len(found) <= MAX_PIECES else [text]


def _joined(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans without those that say nothing, each joined to the one before where it cannot stand
    alone: one content word, or a start that depends on it ("where it will go", "with memories")."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        piece = _clean(text[start:end])
        words = _content(piece)
        if words == 0:
            continue
        first = piece.split(maxsplit=1)[0].lower() if piece.split() else ""
        if joined and (words < 2 or first in _DEPENDENT or _content(_clean(text[slice(*joined[-1])])) < 2):
            joined[-1] = (joined[-1][0], end)  # the original words between them kept
        else:
            joined.append((start, end))
    return joined


def _spans(separator: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The stretches of text[start:end] between the separator's matches, empty ones left out."""
    out, at = [], start
    for m in separator.finditer(text, start, end):
        out.append((at, m.start()))
        at = m.end()
    out.append((at, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


def _clean(piece: str) -> str:
    return _LEAD_IN.sub("", _BULLET.sub("", piece).strip(" \t.;:!?。；")).strip(" \t.;:,、")


def _length(piece: str) -> int:
    """Words, a run of kana or kanji counting one per two characters."""
    return sum(max(1, len(w) // 2) if not w.isascii() else 1 for w in _WORD.findall(piece))


def _content(piece: str) -> int:
    """Content words: those that do not only say that a partner is sought or join the others."""
    return sum(max(1, len(w) // 2) if not w.isascii() else 1 for w in _WORD.findall(piece) if w.lower() not in _GENERIC)


def group(vectors: np.ndarray, merge_similarity: float, most: int = MAX_ASPECTS) -> list[list[int]]:
    """Pieces grouped by average linkage on cosine similarity: the two most alike groups merge while
    they are at least `merge_similarity` alike, or while there are more than `most`. In order of
    first appearance."""
    groups = [[i] for i in range(len(vectors))]
    sims = vectors @ vectors.T
    while len(groups) > 1:
        best, pair = -np.inf, (0, 1)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                s = float(sims[np.ix_(groups[a], groups[b])].mean())
                if s > best:
                    best, pair = s, (a, b)
        if best < merge_similarity and len(groups) <= most:
            break
        a, b = pair
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
    return sorted(groups, key=lambda g: g[0])


def find_aspects(text: str, encode: Callable[[list[str]], np.ndarray], merge_similarity: float) -> list[Aspect]:
    """The needs of a query text; none where it states one (it is matched as a whole)."""
    found = pieces(text)
    if len(found) < 2:
        return []
    vectors = _unit(encode(found))
    groups = group(vectors, merge_similarity)
    if len(groups) < 2:
        return []
    return [_aspect([found[i] for i in g], vectors[g]) for g in groups]


def given_aspects(texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> list[Aspect]:
    """The needs a caller named (`aspects: [...]`), each embedded as it is."""
    cleaned = [t.strip() for t in texts]
    for i, t in enumerate(cleaned):
        if not _WORD.search(t):
            raise InvalidInput(f"aspects[{i}] has no words to match: {t!r}")
        if len(t) > MAX_ASPECT_CHARS:
            raise InvalidInput(f"aspects[{i}] is {len(t)} characters; the limit is {MAX_ASPECT_CHARS}")
    if len(set(cleaned)) != len(cleaned):
        raise InvalidInput("aspects are repeated; name each need once")
    vectors = _unit(encode(cleaned))
    return [Aspect(t, v) for t, v in zip(cleaned, vectors)]


def _aspect(texts: list[str], vectors: np.ndarray) -> Aspect:
    return Aspect(" / ".join(texts), _unit(vectors.mean(axis=0, keepdims=True))[0])


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

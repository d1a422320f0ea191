"""Readers for the text tasks' public data in their original formats (JSON lines and text
files only: nothing here unpickles), for users who downloaded it and for the offline profile.

- Anthropic HH (``Anthropic/hh-rlhf`` on the hub, or ``{train,test}.jsonl[.gz]`` from GitHub
  ``anthropics/hh-rlhf``): one JSON object per line with ``chosen`` and ``rejected`` dialogues
  ``"\\n\\nHuman: … \\n\\nAssistant: …"`` that share every turn but the last assistant reply.
- IMDb (``stanfordnlp/imdb``, or the original ``aclImdb/`` folder / ``aclImdb_v1.tar.gz``):
  ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import AihfbenchError

ASSISTANT = "\n\nAssistant:"
HUMAN = "\n\nHuman:"
_REVIEW = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


class SourceError(AihfbenchError):
    """A local data file that is missing or not in the expected format."""


@dataclass(frozen=True)
class PreferencePair:
    prompt: str          # the dialogue up to and including the final "\n\nAssistant:"
    chosen: str          # the preferred final assistant reply (no leading space)
    rejected: str


def split_dialogue(dialogue: str) -> tuple[str, str]:
    """``(prompt, reply)``: the dialogue up to and including its last ``"\\n\\nAssistant:"``,
    and the last assistant reply, stripped."""
    cut = dialogue.rfind(ASSISTANT)
    if cut < 0 or HUMAN not in dialogue[:cut + 1] and not dialogue.startswith(HUMAN.lstrip("\n")):
        raise ValueError("not an HH dialogue: no '\\n\\nHuman:' turn followed by '\\n\\nAssistant:'")
    cut += len(ASSISTANT)
    return dialogue[:cut], dialogue[cut:].strip()


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_hh(path: str | Path, limit: int | None = None) -> tuple[list[PreferencePair], int]:
    """HH pairs from a ``.jsonl`` / ``.jsonl.gz`` file: ``(pairs, skipped)``. A pair is skipped
    when its two dialogues do not share the prompt (a handful in the public data) or a reply
    is empty; a line that is not a JSON object with both fields is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path} does not exist: pass the path of an HH .jsonl or .jsonl.gz file "
                          "(e.g. test.jsonl.gz from github.com/anthropics/hh-rlhf)")
    try:
        with _open_text(path) as handle:
            return hh_pairs(_json_rows(handle, path), limit, where=f"{path}:")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc}); is it a complete "
                          ".jsonl or .jsonl.gz file?") from None


def _json_rows(handle, path: Path) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, 1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError:
                raise SourceError(f"{path}:{number}: expected a JSON object with string 'chosen' and "
                                  "'rejected' dialogues (the hh-rlhf format)") from None


def hh_pairs(rows, limit: int | None = None, where: str = "") -> tuple[list[PreferencePair], int]:
    """``(pairs, skipped)`` from numbered HH rows ``(n, {"chosen", "rejected"})`` (JSON lines or
    the hub dataset ``Anthropic/hh-rlhf``)."""
    pairs, skipped = [], 0
    for number, row in rows:
        try:
            chosen, rejected = row["chosen"], row["rejected"]
            if not isinstance(chosen, str) or not isinstance(rejected, str):
                raise TypeError
        except (KeyError, TypeError):
            raise SourceError(f"{where}{number}: expected a JSON object with string 'chosen' and "
                              "'rejected' dialogues (the hh-rlhf format)") from None
        try:
            prompt, good = split_dialogue(chosen)
            prompt_r, bad = split_dialogue(rejected)
        except ValueError:
            skipped += 1
            continue
        if prompt != prompt_r or not good or not bad:
            skipped += 1
            continue
        pairs.append(PreferencePair(prompt, good, bad))
        if limit is not None and len(pairs) >= limit:
            break
    return pairs, skipped


@dataclass(frozen=True)
class Review:
    split: str           # "train" | "test"
    label: int           # 1 positive, 0 negative
    rating: int          # 1-10 stars as in the file name
    review_id: int
    text: str            # "<br />" line breaks turned into spaces


def clean_review(text: str) -> str:
    """An IMDb review's text with its ``<br />`` line breaks turned into spaces (aclImdb and
    ``stanfordnlp/imdb`` both keep them)."""
    return _BREAK.sub(" ", text).strip()


def _review(name: str, raw: bytes) -> Review | None:
    match = _REVIEW.search(name)
    if match is None:
        return None
    split, polarity, review_id, rating = match.groups()
    text = clean_review(raw.decode("utf-8", errors="replace"))
    return Review(split, int(polarity == "pos"), int(rating), int(review_id), text)


def read_imdb(path: str | Path, split: str | None = None) -> Iterator[Review]:
    """Labelled IMDb reviews from an ``aclImdb/`` folder (or its parent) or the tarball,
    in a fixed order (split, polarity, id)."""
    path = Path(path)
    if path.is_dir():
        root = path if path.name == "aclImdb" else path / "aclImdb"
        files = sorted(root.glob("*/*/*.txt"))
        if not files:
            raise SourceError(f"{path} has no aclImdb/{{train,test}}/{{pos,neg}}/*.txt reviews")
        reviews = (_review(f"aclImdb/{f.relative_to(root).as_posix()}", f.read_bytes()) for f in files)
    elif path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        reviews = _from_tarball(path)
    else:
        raise SourceError(f"{path} is neither an aclImdb folder nor an aclImdb tarball (.tar.gz): "
                          "download aclImdb_v1.tar.gz from ai.stanford.edu/~amaas/data/sentiment/")
    kept = [r for r in reviews if r is not None and (split is None or r.split == split)]
    kept.sort(key=lambda r: (r.split, -r.label, r.review_id))
    if not kept:
        raise SourceError(f"{path} holds no labelled reviews{f' in split {split!r}' if split else ''}")
    yield from kept


def _from_tarball(path: Path) -> Iterator[Review | None]:
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and _REVIEW.search(member.name):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield _review(member.name, handle.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(f"{path}: not a readable tarball ({exc.__class__.__name__}); download it again") from None

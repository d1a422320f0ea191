"""Local readers of the text tasks' public data, the offline corpus and the VADER reward."""
import gzip
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from aihfbench.text.corpus import generate_reviews
from aihfbench.text.sources import SourceError, read_hh, read_imdb, split_dialogue

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DIALOGUE = "\n\nHuman: hi\n\nAssistant: hello!\n\nHuman: a joke?\n\nAssistant:"


def test_a_dialogue_splits_at_its_last_assistant_turn():
    prompt, reply = split_dialogue(DIALOGUE + " Why did the chicken cross the road?")
    assert prompt == DIALOGUE and reply == "Why did the chicken cross the road?"
    with pytest.raises(ValueError):
        split_dialogue("no turns here")


def test_hh_pairs_share_the_prompt_and_bad_lines_are_named(tmp_path):
    rows = [{"chosen": DIALOGUE + " A good one.", "rejected": DIALOGUE + " No."},
            {"chosen": DIALOGUE + " Fine.", "rejected": "\n\nHuman: other\n\nAssistant: Nope."},   # prompts differ
            {"chosen": DIALOGUE + " Sure.", "rejected": DIALOGUE}]                              # empty reply
    path = tmp_path / "hh.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows) + "\n")
    pairs, skipped = read_hh(path)
    assert skipped == 2 and len(pairs) == 1
    assert pairs[0].prompt == DIALOGUE and pairs[0].chosen == "A good one." and pairs[0].rejected == "No."

    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(rows[0]) + "\n{not json\n")
    with pytest.raises(SourceError, match=r"broken.jsonl:2: expected a JSON object"):
        read_hh(broken)
    with pytest.raises(SourceError, match="does not exist"):
        read_hh(tmp_path / "missing.jsonl")


@pytest.mark.skipif(not (SHARED / "hh-rlhf").is_dir(), reason="real HH data not present")
def test_the_real_hh_test_split_parses():
    pairs, skipped = read_hh(SHARED / "hh-rlhf" / "harmless-base" / "test.jsonl.gz")
    assert len(pairs) + skipped == 2312 and skipped < 50
    assert all(p.prompt.startswith("\n\nHuman:") and p.prompt.endswith("\n\nAssistant:") for p in pairs)
    assert sum(p.chosen != p.rejected for p in pairs) > 0.95 * len(pairs)


def test_imdb_reads_folders_and_tarballs_in_a_fixed_order(tmp_path):
    files = {"aclImdb/train/pos/3_9.txt": "Great!<br /><br />Loved it.", "aclImdb/train/neg/7_2.txt": "Bad.",
             "aclImdb/test/pos/1_10.txt": "Superb.", "aclImdb/README": "readme"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tarball = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, text in reversed(list(files.items())):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    from_folder, from_tar = list(read_imdb(tmp_path)), list(read_imdb(tarball))
    assert from_folder == from_tar
    assert [(r.split, r.label, r.rating) for r in from_folder] == [("test", 1, 10), ("train", 1, 9), ("train", 0, 2)]
    assert from_folder[1].text == "Great!  Loved it."
    assert [r.review_id for r in read_imdb(tarball, split="train")] == [3, 7]
    with pytest.raises(SourceError, match="neither"):
        list(read_imdb(tmp_path / "aclImdb" / "README"))


@pytest.mark.skipif(not (SHARED / "imdb").is_dir(), reason="real IMDb data not present")
def test_the_real_imdb_tarball_has_50k_balanced_reviews():
    reviews = list(read_imdb(SHARED / "imdb" / "aclImdb-labelled.tar.gz"))
    assert len(reviews) == 50_000
    assert sum(r.label for r in reviews) == 25_000
    assert all((r.rating >= 7) == bool(r.label) for r in reviews)          # the dataset's own rule


def test_the_template_corpus_is_deterministic_and_vader_reads_its_sentiment():
    pytest.importorskip("vaderSentiment")
    from aihfbench.text.corpus import review
    from aihfbench.text.rewards import vader_sentiment

    assert generate_reviews(50, seed=1) == generate_reviews(50, seed=1) != generate_reviews(50, seed=2)
    rng = np.random.default_rng(0)
    positive = vader_sentiment([review(rng, 1.0) for _ in range(100)])
    negative = vader_sentiment([review(rng, 0.0) for _ in range(100)])
    assert positive.mean() > 0.5 > -0.5 > negative.mean()
    mixed = vader_sentiment(generate_reviews(500, seed=0))
    assert -0.3 < mixed.mean() < 0.3 and mixed.std() > 0.4                 # room to move both ways

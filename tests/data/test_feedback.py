import numpy as np
import pytest

from aihfbench.data import Demonstrations, Preferences


@pytest.fixture
def prefs():
    rng = np.random.default_rng(0)
    return Preferences({"chosen": rng.integers(0, 9, 100), "rejected": rng.integers(0, 9, 100)}, unit="pairs")


def test_budgets_are_nested_prefixes(prefs):
    small, large = prefs.prefix(10), prefs.prefix(40)
    assert len(small) == 10 and len(large) == 40 and prefs.unit == small.unit == "pairs"
    for name in ("chosen", "rejected"):
        np.testing.assert_array_equal(small.columns[name], large.columns[name][:10])


def test_views_are_read_only(prefs):
    with pytest.raises(ValueError):
        prefs.columns["chosen"][0] = 3


def test_iteration_indexing_and_batches_cover_each_row_once(prefs):
    view = prefs.prefix(37)
    rows = list(view)
    assert len(rows) == 37 and rows[5] == view[5]
    seen = np.concatenate([b["chosen"] for b in view.batches(8, shuffle=True, seed=1)])
    np.testing.assert_array_equal(np.sort(seen), np.sort(view.columns["chosen"]))
    assert sum(len(b["chosen"]) for b in view.batches(8, drop_last=True)) == 32
    batch = view.sample(64, np.random.default_rng(0))
    assert batch["chosen"].shape == (64,)
    with pytest.raises(IndexError):
        view[37]


def test_fingerprint_depends_on_content_and_budget(prefs):
    assert prefs.fingerprint() == Preferences(dict(prefs.columns), unit="pairs").fingerprint()
    assert prefs.prefix(99).fingerprint() != prefs.fingerprint()


def test_columns_must_align():
    with pytest.raises(ValueError, match="differ in length"):
        Demonstrations({"obs": np.zeros(3), "action": np.zeros(4)}, unit="transitions")


def test_text_columns_fingerprint_by_content_not_by_object_identity():
    """Object arrays of strings hash their text (their raw bytes are pointers that change per process)."""
    from aihfbench.data.feedback import fingerprint_arrays

    a = {"prompt": np.array(["a review", "another"], dtype=object)}
    b = {"prompt": np.array(["".join(["a ", "review"]), "another"], dtype=object)}
    assert fingerprint_arrays(a) == fingerprint_arrays(b)
    assert fingerprint_arrays(a) != fingerprint_arrays({"prompt": np.array(["a review", "other"], dtype=object)})

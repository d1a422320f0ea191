import numpy as np

from aihfbench.cli import main
from aihfbench.figures import figure2_data, plot_figure2


def test_figure2_data_shows_the_papers_effect():
    frame = figure2_data(repeats=2)
    means = frame.groupby(["method", "action"])["probability"].mean().unstack("method")
    uncovered = means[means.index > 45].sum()
    assert uncovered["SFT"] == 0 and uncovered["RLHF"] == 0
    assert abs(uncovered["AIHF"] - uncovered["Ground truth"]) < 0.02
    np.testing.assert_allclose(means.sum(), 1.0)


def test_figure2_command_writes_png_and_csv(tmp_path, capsys):
    out = tmp_path / "fig2.png"
    assert main(["figure2", "--repeats", "2", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig2.csv").read_text().startswith("action,")
    assert "AIHF=" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp files left


def test_plot_accepts_a_frame(tmp_path):
    frame = figure2_data(repeats=1)
    assert plot_figure2(frame, tmp_path / "f.png").stat().st_size > 10_000

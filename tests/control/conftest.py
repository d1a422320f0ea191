"""A tiny HalfCheetah build from random-weight "checkpoints" (no training needed).

HalfCheetah never terminates early, so even random actors give 1,000-step episodes to
cut 50-step segments from; the checkpoints' recorded returns decide their grades.
"""
import json
import os

import numpy as np
import pytest

pytest.importorskip("minari")
pytest.importorskip("gymnasium.envs.mujoco")


def fake_checkpoints(folder, obs_dim=17, act_dim=6, returns=(400.0, 700.0, 1000.0, 950.0)):
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    shapes = [(obs_dim, 64), (64, 64), (64, act_dim), (64, act_dim)]
    for i, ret in enumerate(returns):
        params = {}
        for j, shape in enumerate(shapes):
            params[f"params/Dense_{j}/kernel"] = (rng.normal(size=shape) * 0.3).astype(np.float32)
            params[f"params/Dense_{j}/bias"] = np.zeros(shape[1], np.float32)
        stem = folder / f"step-{(i + 1) * 10000:09d}"
        save_file(params, str(stem) + ".safetensors")
        (folder / f"{stem.name}.json").write_text(json.dumps({"steps": (i + 1) * 10000, "mean_return": ret}))
    return folder


@pytest.fixture(scope="session")
def control_root(tmp_path_factory):
    """Environment pointing aihfbench and Minari at a private data root for the session."""
    root = tmp_path_factory.mktemp("control-data")
    old = {k: os.environ.get(k) for k in ("AIHFBENCH_DATA", "MINARI_DATASETS_PATH")}
    os.environ["AIHFBENCH_DATA"] = str(root / "aihfbench")
    os.environ["MINARI_DATASETS_PATH"] = str(root / "minari")
    yield root
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def control_data(control_root):
    """A tiny HalfCheetah build from random-weight checkpoints."""
    from aihfbench.control.splits import BuildSpec, build

    spec = BuildSpec(env_id="HalfCheetah-v5", short="halfcheetah", demo_transitions=2000, pool_transitions=4000,
                     pairs=3000, seed=0)
    checkpoints = fake_checkpoints(control_root / "checkpoints")
    manifest = build(spec, checkpoints)
    return {"root": control_root, "spec": spec, "checkpoints": checkpoints, "manifest": manifest}


@pytest.fixture(scope="session")
def hopper_data(control_root):
    """A small Hopper build from the *shipped* expert checkpoints (real demonstrations, real
    low/medium preference pool), small enough to build in seconds."""
    from aihfbench.control.splits import BuildSpec, build
    from aihfbench.tasks.control import shipped_checkpoints

    spec = BuildSpec(env_id="Hopper-v5", short="hopper", demo_transitions=3000, pool_transitions=6000,
                     pairs=3000, seed=0)
    return {"spec": spec, "manifest": build(spec, shipped_checkpoints("Hopper-v5"))}

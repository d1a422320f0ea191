"""Built-in tasks. Importing this module registers them (entry points stay lazy)."""
from ..registration import register

register(
    "Bandit-aihf-v0",
    "aihfbench.tasks.bandit:BanditTask",
    family="bandit",
    description="Paper §4 bandit (Figure 2): 50 actions, demonstrations cover 1–45, "
                "200 Bradley–Terry draws per pair; closed-form optimum for every method.",
    aliases=("bandit",),
    datasets=("generated:bandit-recipe-1",),
    demo_unit="demonstrations (action draws)",
    pref_unit="comparisons (labelled action pairs)",
    default_demos=2000,
    default_prefs=245_000,
    primary_metric="tv_distance",
    higher_is_better=False,
    profiles=("smoke", "cpu", "paper"),
    default_profile="cpu",
    official_demos=(100, 500, 2000),
    official_prefs=(1000, 10_000, 245_000),
    official_seeds=5,
    seed_resamples_data=True,   # as the paper's repeats: seed s draws the data with data_seed=s
)

# What the two text tasks share: units, metric, profiles (a split per profile's data variant).
_TEXT = dict(family="text", demo_unit="demonstrations (prompt, completion)", pref_unit="labelled completion pairs",
             primary_metric="true_reward", higher_is_better=True, official_seeds=3,
             profiles=("smoke", "offline", "smollm2", "cpu", "paper"), default_profile="offline")

register(
    "IMDb-aihf-v0",
    "aihfbench.tasks.text:IMDbTask",
    description="Positive-sentiment continuation of movie-review prefixes (paper A.2.2); offline profile: a "
                "small GPT-2 pre-trained by the project, VADER as the true reward.",
    aliases=("imdb",),
    datasets=("imdb:imdb-offline-recipe-1", "imdb:imdb-hub-recipe-1"),
    default_demos=1000,
    default_prefs=1000,
    official_demos=(1000,),   # the paper's limited-data regime (Fig. 6: 1k / 1k, 3 runs)
    official_prefs=(1000,),
    **_TEXT,
)

register(
    "HH-aihf-v0",
    "aihfbench.tasks.text:HHTask",
    description="Helpful replies to Anthropic HH dialogues (paper §6, A.2.3); offline profile: HH JSON lines "
                "from a local path, a small GPT-2 pre-trained by the project, a gold judge fitted on the human "
                "labels as the true reward.",
    aliases=("hh", "anthropic-hh"),
    datasets=("hh:hh-offline-recipe-1", "hh:hh-hub-recipe-1"),
    default_demos=300,        # fits the 2.3k-pair HH test file; the paper uses 10k / 10k of HH train
    default_prefs=600,
    official_demos=(300,),    # what a split of the HH test file holds (335 demonstrations, 670 pairs)
    official_prefs=(600,),
    **_TEXT,
)

# D4RL reference returns (random, expert) for the normalised score; tasks/control.py uses the same.
_D4RL = {"Hopper-v5": {"random": -20.272305, "expert": 3234.3},
         "HalfCheetah-v5": {"random": -280.178953, "expert": 12135.0},
         "Walker2d-v5": {"random": 1.629008, "expert": 4592.3}}

for _name, _env, _short, _aliases in (("Hopper", "Hopper-v5", "hopper", ("hopper",)),
                                      ("HalfCheetah", "HalfCheetah-v5", "halfcheetah", ("halfcheetah", "cheetah")),
                                      ("Walker2d", "Walker2d-v5", "walker2d", ("walker2d", "walker"))):
    register(
        f"{_name}-aihf-v0",
        "aihfbench.tasks.control:ControlTask",
        family="control",
        description=f"MuJoCo {_env}: demonstrations from high-quality SAC checkpoints, preferences between "
                    "50-step segments of low/medium-quality rollouts (paper §6.1).",
        kwargs={"env_id": _env, "short": _short},
        aliases=_aliases,
        datasets=(f"aihfbench/{_short}/expert-v0", f"aihfbench/{_short}/pool-v0", "pairs:control-recipe-1"),
        demo_unit="transitions",
        pref_unit="labelled segment pairs (50 steps)",
        default_demos=10_000,
        default_prefs=20_000,
        reference_scores=_D4RL[_env],
        primary_metric="normalized_score",
        higher_is_better=True,
    )

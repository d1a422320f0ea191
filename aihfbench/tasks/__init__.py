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

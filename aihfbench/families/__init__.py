"""Per-family primitives: make a policy or reward model, imitate, improve a policy
against a reward, sample from a policy, compute returns and log-ratios of items.

Algorithms are written once against these primitives; each task family (bandit,
control, text) supplies its own implementation through ``task.primitives(seed)``.
"""

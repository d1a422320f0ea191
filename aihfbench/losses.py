"""The four losses every method is built from (paper eq. 8 and its special cases).

Each is a small pure function of tensors. ``weights`` (optional, shape ``[B]``, >= 0)
turns the mean into a weighted mean; families that summarise their data by counts
(the bandit) pass counts here, so a weighted loss over unique items equals the plain
loss over the repeated items exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _mean(values: Tensor, weights: Tensor | None) -> Tensor:
    if weights is None:
        return values.mean()
    weights = weights.to(values.dtype)
    return (values * weights).sum() / weights.sum()


def btl_loss(returns_chosen: Tensor, returns_rejected: Tensor, weights: Tensor | None = None) -> Tensor:
    """Bradley–Terry negative log-likelihood (paper eqs. 3, 11).

    ``-mean log σ(R(τ_w) - R(τ_l))``

    Args:
        returns_chosen: ``[B]`` returns R_θ(τ_w) of the preferred items.
        returns_rejected: ``[B]`` returns R_θ(τ_l) of the dispreferred items.
        weights: optional ``[B]`` multiplicities.
    Returns: scalar.
    """
    return _mean(-F.logsigmoid(returns_chosen - returns_rejected), weights)


def demo_contrast_loss(
    returns_demo: Tensor,
    returns_policy: Tensor,
    demo_weights: Tensor | None = None,
    policy_weights: Tensor | None = None,
) -> Tensor:
    """Negative of the demonstration term's surrogate, whose gradient is Lemma 5.1 (eq. 28).

    ``-(mean R(τ_demo) - mean R(τ'_policy))``: *linear* in the returns, not logistic.
    Its gradient with respect to θ is ``-E_demo ∇R + E_policy ∇R``, i.e. minus the
    gradient of L1(π_θ) when τ' ~ π_θ. The policy samples (and ``policy_weights``,
    e.g. exact probabilities) are treated as constants; pass them detached.

    Args:
        returns_demo: ``[N]`` returns of demonstration items.
        returns_policy: ``[N']`` returns of items the current policy produced.
    Returns: scalar.
    """
    return -(_mean(returns_demo, demo_weights) - _mean(returns_policy, policy_weights))


def dpo_loss(
    logratio_chosen: Tensor, logratio_rejected: Tensor, beta: float, weights: Tensor | None = None
) -> Tensor:
    """Direct Preference Optimisation (paper eq. 13 with α=0; Rafailov et al. 2023).

    ``-mean log σ(β [log π(y_w)/π⁰(y_w) - log π(y_l)/π⁰(y_l)])``

    Args:
        logratio_chosen: ``[B]`` log π(y_w|x) - log π⁰(y_w|x) (control: summed over a segment).
        logratio_rejected: ``[B]`` the same for y_l.
        beta: inverse temperature of the implicit reward β log π/π⁰.
    Returns: scalar.
    """
    return _mean(-F.logsigmoid(beta * (logratio_chosen - logratio_rejected)), weights)


def nll_loss(log_probs: Tensor, weights: Tensor | None = None) -> Tensor:
    """Behaviour cloning / SFT: ``-mean log π(a|s)`` (paper eq. 1).

    Args:
        log_probs: ``[B]`` log-likelihoods of demonstrated actions (text: of response tokens).
    Returns: scalar.
    """
    return _mean(-log_probs, weights)

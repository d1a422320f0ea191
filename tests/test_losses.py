"""Each shared loss equals its closed form, and weights equal repetition."""
import math

import torch

from aihfbench.losses import btl_loss, demo_contrast_loss, dpo_loss, nll_loss

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_btl_loss_closed_form():
    got = btl_loss(T(1.0, 0.0), T(0.0, 2.0))
    assert math.isclose(got.item(), -(math.log(sig(1.0)) + math.log(sig(-2.0))) / 2, rel_tol=1e-12)


def test_weights_equal_repetition():
    w, l = T(0.3, -1.0, 2.0), T(0.1, 0.5, -0.2)
    repeated = btl_loss(T(0.3, 0.3, 0.3, -1.0, 2.0, 2.0), T(0.1, 0.1, 0.1, 0.5, -0.2, -0.2))
    assert torch.isclose(btl_loss(w, l, T(3, 1, 2)), repeated)
    assert torch.isclose(nll_loss(T(-1.0, -2.0), T(1, 3)), T(1.75)[0])


def test_demo_contrast_is_linear_and_its_gradient_is_lemma_5_1():
    """For tabular rewards, -∇ of the loss is freq(D) - π (eq. 16 with β=1)."""
    r = torch.tensor([0.2, -0.4, 1.0], dtype=torch.float64, requires_grad=True)
    counts, pi = T(5, 3, 2), torch.softmax(r.detach(), 0)
    loss = demo_contrast_loss(r, r, counts, pi)
    loss.backward()
    torch.testing.assert_close(-r.grad, counts / counts.sum() - pi)
    assert math.isclose(loss.item(), -((counts / 10) @ r - pi @ r).item(), rel_tol=1e-12)


def test_dpo_loss_closed_form_and_equivalence_to_btl_on_implicit_rewards():
    beta = 0.5
    lw, ll = T(0.4, -0.1), T(-0.2, 0.3)
    expected = -(math.log(sig(beta * 0.6)) + math.log(sig(beta * -0.4))) / 2
    assert math.isclose(dpo_loss(lw, ll, beta).item(), expected, rel_tol=1e-12)
    torch.testing.assert_close(dpo_loss(lw, ll, beta), btl_loss(beta * lw, beta * ll))


def test_nll_loss_is_negative_mean_log_likelihood():
    assert math.isclose(nll_loss(torch.log(T(0.5, 0.25))).item(), (math.log(2) + math.log(4)) / 2, rel_tol=1e-12)

"""Control-family primitives (aihfbench/families/control.py) and the method losses built on them."""
import copy
import math

import numpy as np
import pytest
import torch

import aihfbench
from aihfbench.errors import AihfbenchError
from aihfbench.algos.aihf import reward_alignment_loss
from aihfbench.algos.aihf_dpo import implicit_alignment_loss
from aihfbench.control.policy import SquashedGaussianActor
from aihfbench.families.control import SEGMENT, Pairs, RelativeActor, Segments, UniformPolicy
from aihfbench.losses import btl_loss


@pytest.fixture(scope="module")
def hopper(hopper_data):
    task = aihfbench.make("hopper", build=False, sac={"learning_starts": 10})
    return task, task.primitives(seed=3)


def gaussian_tanh_logp(actor, obs, act):
    """Per-step log π(a|s) written out in numpy: N(atanh a; μ, σ) and the tanh Jacobian 1 − a²."""
    with torch.no_grad():
        mean, log_std = (x.double().numpy() for x in actor(torch.as_tensor(obs)))
    a = np.clip(act.astype(np.float64), -1 + 1e-5, 1 - 1e-5)
    u = np.arctanh(a)
    std = np.exp(log_std)
    logn = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)
    return (logn - np.log(1 - a**2)).sum(-1)


def hand_made_segments(rng, n=3, obs_dim=11, act_dim=3, lengths=(50, 20, 1)):
    obs = rng.normal(size=(n, SEGMENT, obs_dim)).astype(np.float32)
    act = rng.uniform(-0.99, 0.99, size=(n, SEGMENT, act_dim)).astype(np.float32)
    mask = np.zeros((n, SEGMENT), np.float32)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
    return Segments(torch.from_numpy(obs), torch.from_numpy(act), torch.from_numpy(mask)), obs, act, mask


def test_segment_returns_sum_the_reward_over_real_steps_only(hopper):
    task, fam = hopper
    reward = fam.make_reward()
    segments, obs, act, mask = hand_made_segments(np.random.default_rng(0))
    with torch.no_grad():
        per_step = reward(segments.obs, segments.act).numpy()
        got = fam.returns(reward, segments).numpy()
    assert np.allclose(got, (per_step * mask).sum(1), atol=1e-5)
    assert np.isclose(got[2], per_step[2, 0], atol=1e-6)          # a 1-step segment is its one reward


def test_dpo_and_aihf_dpo_losses_equal_their_closed_forms(hopper):
    task, fam = hopper
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    reference = SquashedGaussianActor(11, 3)
    policy = fam.make_policy(reference)
    with torch.no_grad():                                           # move π away from π⁰
        for p in policy.actor.parameters():
            p.add_(0.1 * torch.randn_like(p))
    w, ow, aw, mw = hand_made_segments(rng)
    l, ol, al, ml = hand_made_segments(rng, lengths=(50, 50, 7))
    d, od, ad, md = hand_made_segments(rng, lengths=(50, 50, 50))
    y, oy, ay, my = hand_made_segments(rng, lengths=(3, 50, 12))
    beta = 0.3

    def ratio(o, a, m):
        return ((gaussian_tanh_logp(policy.actor, o, a) - gaussian_tanh_logp(reference, o, a)) * m).sum(1)

    def dpo(rw, rl):
        return np.mean(np.log1p(np.exp(-beta * (rw - rl))))          # −log σ(β(Δ_w − Δ_l))

    assert np.allclose(fam.log_ratio(policy, w).detach().numpy(), ratio(ow, aw, mw), atol=1e-3)
    pairs, contrast = Pairs(w, l), fam.contrast_pairs(d, y)
    pref = dpo(ratio(ow, aw, mw), ratio(ol, al, ml))
    demo = dpo(ratio(od, ad, md), ratio(oy, ay, my))
    for alpha in (0.0, 0.5, 2.0):
        got = implicit_alignment_loss(fam, policy, pairs, contrast, alpha, beta).item()
        assert got == pytest.approx((pref + alpha * demo) / (1 + alpha), rel=1e-4)


def test_aihf_with_alpha_zero_is_rlhfs_bradley_terry_update(hopper):
    task, fam = hopper
    demos, prefs = task.demos(3000), task.preferences(2000)
    reward = fam.make_reward()
    demo, agent, pairs = fam.demo_batch(demos, 8), fam.sample(UniformPolicy(3), 8), fam.pref_batch(prefs, 8)

    def grads(loss):
        reward.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in reward.parameters()]

    btl = grads(btl_loss(fam.returns(reward, pairs.chosen), fam.returns(reward, pairs.rejected)))
    aihf0 = grads(reward_alignment_loss(fam, reward, demo, agent, pairs, 0.0))
    assert all(torch.equal(a, b) for a, b in zip(btl, aihf0))
    aihf1 = grads(reward_alignment_loss(fam, reward, demo, agent, pairs, 1.0))
    assert not all(torch.allclose(a, b) for a, b in zip(btl, aihf1))    # α > 0: demonstrations move θ

    # the demonstration term is linear (Lemma 5.1): its gradient is ∇mean R(τ') − ∇mean R(τ)
    demo_only = grads(2 * reward_alignment_loss(fam, reward, demo, agent, pairs, 1.0)
                      - reward_alignment_loss(fam, reward, demo, agent, pairs, 0.0))
    expected = grads(fam.returns(reward, agent).mean() - fam.returns(reward, demo).mean())
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(demo_only, expected))


def test_demo_segments_are_50_consecutive_steps_of_one_episode(hopper):
    task, fam = hopper
    demos = task.demos(3000)
    batch = fam.demo_batch(demos, 32)
    cols = demos.columns
    assert batch.obs.shape == (32, SEGMENT, 11) and bool(batch.mask.all())
    for seg in range(4):
        row = int(np.flatnonzero((cols["obs"] == batch.obs[seg, 0].numpy()).all(1))[0])
        assert len(set(cols["episode"][row:row + SEGMENT])) == 1
        assert np.array_equal(cols["action"][row:row + SEGMENT], batch.act[seg].numpy())
    with pytest.raises(AihfbenchError, match="--demos must be >= 50"):
        fam.demo_batch(task.demos(49), 4)


def test_preference_batches_are_the_tasks_segments(hopper):
    task, fam = hopper
    prefs = task.preferences(500)
    drawn = prefs.sample(16, np.random.default_rng(5))
    fam.rng = np.random.default_rng(5)
    pairs = fam.pref_batch(prefs, 16)
    for side, segments in (("chosen", pairs.chosen), ("rejected", pairs.rejected)):
        obs, act = task.segments(drawn[f"{side}_episode"], drawn[f"{side}_start"])
        assert np.array_equal(segments.obs.numpy(), obs) and np.array_equal(segments.act.numpy(), act)
        rows = task.pool["offsets"][drawn[f"{side}_episode"]][:, None] + drawn[f"{side}_start"][:, None] + np.arange(SEGMENT)
        assert np.allclose(task.pool["reward"][rows].sum(1), drawn[f"{side}_return"], rtol=1e-4, atol=1e-3)
    assert (drawn["chosen_return"] >= drawn["rejected_return"]).all()      # the perfect teacher's labels


def test_policy_samples_are_cut_and_masked_at_episode_ends(hopper):
    task, fam = hopper
    segments = fam.sample(UniformPolicy(3, seed=0), 40)                 # a random Hopper falls within ~20-60 steps
    lengths = segments.mask.sum(1).numpy()
    assert segments.obs.shape == (40, SEGMENT, 11)
    assert (lengths < SEGMENT).any() and (lengths >= 1).all()
    for i, n in enumerate(lengths.astype(int)):                          # mask is a prefix of ones
        assert segments.mask[i, :n].all() and not segments.mask[i, n:].any()
        assert not segments.obs[i, n:].any()


def test_relative_actor_starts_at_its_reference_and_freezes_a_copy(hopper):
    task, fam = hopper
    reference = SquashedGaussianActor(11, 3)
    policy = fam.make_policy(reference)
    segments, *_ = hand_made_segments(np.random.default_rng(2))
    assert torch.allclose(fam.log_ratio(policy, segments), torch.zeros(3), atol=1e-4)
    frozen = policy.freeze()
    with torch.no_grad():
        next(policy.parameters()).add_(1.0)
    assert not torch.equal(next(frozen.parameters()), next(policy.parameters()))
    assert not any(p.requires_grad for p in reference.parameters()) or reference is not policy.actor
    uniform = RelativeActor(UniformPolicy(3), copy.deepcopy(reference))
    expected = (reference.log_prob(segments.obs, segments.act) + 3 * math.log(2)) * segments.mask
    assert torch.allclose(uniform.log_ratio(segments), expected.sum(1), atol=1e-4)


def test_bad_control_settings_are_one_line(hopper_data):
    with pytest.raises(AihfbenchError, match="task.sac"):
        aihfbench.make("hopper", build=False, sac={"learnig_rate": 1.0})
    with pytest.raises(AihfbenchError, match="eval_episodes"):
        aihfbench.make("hopper", build=False, eval_episodes=0)


def test_learned_reward_agreement_uses_held_out_pairs_and_true_labels(hopper):
    task, fam = hopper

    lookup = {row.tobytes(): r for row, r in zip(task.pool["obs"], task.pool["reward"])}

    class TrueReward(torch.nn.Module):        # a "reward model" that reads the true reward back from the pool
        def forward(self, obs, act):
            flat = obs.reshape(-1, obs.shape[-1]).numpy()
            return torch.tensor([lookup[row.tobytes()] for row in flat]).reshape(obs.shape[:-1])

    small = aihfbench.make("hopper", build=False, heldout_pairs=200)
    metrics = small.evaluate_reward(TrueReward())
    assert metrics["reward_accuracy"] == pytest.approx(1.0, abs=0.01)
    assert metrics["reward_spearman"] > 0.99
    flipped = small.evaluate_reward(lambda o, a: -TrueReward()(o, a))
    assert flipped["reward_accuracy"] < 0.02

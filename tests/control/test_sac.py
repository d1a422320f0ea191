"""The shared SAC adapter: rewards are relabelled with the *current* reward model."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from aihfbench.control.policy import SquashedGaussianActor
from aihfbench.control.sac import SACAgent, SACSettings
from aihfbench.families.control import RewardMLP

SETTINGS = SACSettings(batch_size=32, learning_starts=50, buffer_size=2_000)


@pytest.fixture(scope="module")
def agent():
    reward = RewardMLP(17, 6)
    agent = SACAgent(gym.make("HalfCheetah-v5"), SETTINGS, seed=0)
    agent.learn(reward, 120)
    return agent, reward


def test_sampled_rewards_are_the_current_reward_nets(agent):
    agent, reward = agent
    buffer = agent.model.replay_buffer
    stored = buffer.rewards[: buffer.pos, 0].copy()          # the environment's rewards, as collected
    batch = buffer.sample(64)
    with torch.no_grad():
        expected = reward(batch.observations.float(), batch.actions.float())
    assert torch.allclose(batch.rewards.squeeze(1), expected, atol=1e-6)
    assert not np.allclose(batch.rewards.squeeze(1).numpy()[:5], stored[:5])   # never the true reward

    with torch.no_grad():                                      # a reward update between batches ...
        for p in reward.parameters():
            p.add_(0.5)
    again = buffer._get_samples(np.arange(10))
    with torch.no_grad():
        now = reward(again.observations.float(), again.actions.float())
    assert torch.allclose(again.rewards.squeeze(1), now, atol=1e-6)            # ... shows at once: no stale labels

    agent.learn(reward, 40)                                    # new transitions after the last relabelling
    everything = buffer._get_samples(np.arange(buffer.pos))
    with torch.no_grad():
        truth = reward(everything.observations.float(), everything.actions.float())
    assert torch.allclose(everything.rewards.squeeze(1), truth, atol=1e-5)


def test_learning_continues_the_same_learner(agent):
    agent, reward = agent
    before = agent.env_steps
    buffer = agent.model.replay_buffer
    agent.learn(reward, 30)
    assert agent.env_steps == before + 30
    assert agent.model.replay_buffer is buffer and buffer.pos == before + 30   # buffer carries over
    assert agent.relabel_seconds > 0


def test_sac_starts_from_a_given_actor_and_acts_as_it():
    actor = SquashedGaussianActor(17, 6, (64, 64))
    agent = SACAgent(gym.make("HalfCheetah-v5"), SETTINGS, seed=1, actor=actor)
    obs = np.random.default_rng(0).normal(size=(4, 17)).astype(np.float32)
    assert np.allclose(agent.act(obs), actor.act(obs), atol=1e-5)
    sbx_actions = agent.model.predict(obs, deterministic=True)[0]
    assert np.allclose(sbx_actions, actor.act(obs), atol=1e-5)               # the JAX policy is the same function
    with pytest.raises(ValueError, match="widths"):
        SACAgent(gym.make("HalfCheetah-v5"), SETTINGS, seed=1, actor=SquashedGaussianActor(17, 6, (32, 32)))


def test_unknown_sac_settings_are_named():
    with pytest.raises(ValueError, match="learning_rat"):
        SACSettings.from_dict({"learning_rat": 1e-3})
    assert SACSettings.from_dict({"hidden": [32, 32]}).hidden == (32, 32)

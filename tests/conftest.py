import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


class RecordingLogger:
    """A Logger that keeps everything in memory (for calling ``fit`` directly)."""

    def __init__(self):
        self.records, self.offers = [], 0

    def __call__(self, step, **metrics):
        self.records.append({"step": step, **metrics})

    def progress(self, done, total, stage=""):
        pass

    def policy(self, step, get_policy, unit="steps"):
        self.offers += 1


@pytest.fixture
def log():
    return RecordingLogger()

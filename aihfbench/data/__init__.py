"""Typed views over a task's fixed demonstration and preference splits."""
from .feedback import Demonstrations, FeedbackView, Preferences, fingerprint_arrays

__all__ = ["Demonstrations", "Preferences", "FeedbackView", "fingerprint_arrays"]

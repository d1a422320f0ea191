"""The offline profile's movie-review corpus, generated from templates shipped here.

No hub access is needed: the offline IMDb profile pre-trains its small GPT-style policy on
these reviews (or on real aclImdb reviews when the user points to a local copy) and uses
VADER as ground-truth sentiment. The templates mix positive, negative and neutral
phrasing so that a policy starts near neutral and sentiment has room to move both ways.
Generation is deterministic for a seed.
"""
from __future__ import annotations

import numpy as np

SUBJECTS = ["This movie", "The film", "This picture", "The story", "The sequel", "This drama", "The comedy",
            "This thriller", "The documentary", "The remake", "This western", "The cartoon"]
ASPECTS = ["the acting", "the plot", "the script", "the soundtrack", "the ending", "the dialogue", "the pacing",
           "the direction", "the cast", "the photography", "the effects", "the characters"]
PEOPLE = ["the lead actor", "the director", "the villain", "the young star", "the writer", "the supporting cast"]
POSITIVE = ["wonderful", "brilliant", "moving", "beautiful", "excellent", "delightful", "superb", "charming",
            "funny", "gripping", "touching", "great", "amazing", "clever", "powerful", "lovely"]
NEGATIVE = ["boring", "awful", "dull", "terrible", "weak", "painful", "silly", "bad", "confusing", "lazy",
            "clumsy", "horrible", "tedious", "poor", "annoying", "forgettable"]
NEUTRAL = ["long", "quiet", "slow", "loud", "simple", "old-fashioned", "dark", "unusual", "familiar", "short"]
POSITIVE_CLOSERS = ["I loved every minute of it.", "I would happily watch it again.", "Highly recommended.",
                    "A real pleasure from start to finish.", "It made me smile.", "Worth every penny."]
NEGATIVE_CLOSERS = ["I wanted my money back.", "I nearly fell asleep.", "Avoid it.", "What a waste of time.",
                    "I regret watching it.", "It made me angry."]
NEUTRAL_CLOSERS = ["It is what it is.", "Make up your own mind.", "I saw it on a Sunday.",
                   "It runs about two hours.", "My friend picked it."]

SENTENCES = [
    "{subject} is {adj}.",
    "{aspect} is {adj} and {aspect2} is {adj2}.",
    "I thought {aspect} was {adj}.",
    "{person} gives a {adj} performance.",
    "Honestly, {aspect} felt {adj}.",
    "{subject} has a {adj} start and a {adj2} finish.",
    "Overall it is a {adj} experience.",
    "The first half is {adj}, but {aspect} is {adj2}.",
]


def _words(rng: np.random.Generator, mood: str) -> list[str]:
    return {"pos": POSITIVE, "neg": NEGATIVE, "neu": NEUTRAL}[mood]


def review(rng: np.random.Generator, sentiment: float) -> str:
    """One review; ``sentiment`` in [0, 1] is the chance that each sentence leans positive
    (0: negative, 0.5: mixed, 1: positive); a third of adjectives stay neutral."""
    def mood() -> str:
        if rng.random() < 0.3:
            return "neu"
        return "pos" if rng.random() < sentiment else "neg"

    sentences = []
    for _ in range(int(rng.integers(2, 5))):
        template = SENTENCES[int(rng.integers(len(SENTENCES)))]
        a1, a2 = rng.choice(ASPECTS, size=2, replace=False)
        sentences.append(template.format(
            subject=rng.choice(SUBJECTS), aspect=a1, aspect2=a2, person=rng.choice(PEOPLE),
            adj=rng.choice(_words(rng, mood())), adj2=rng.choice(_words(rng, mood()))))
    closer_mood = mood()
    closers = {"pos": POSITIVE_CLOSERS, "neg": NEGATIVE_CLOSERS, "neu": NEUTRAL_CLOSERS}[closer_mood]
    sentences.append(rng.choice(closers))
    text = " ".join(sentences)
    return text[0].upper() + text[1:]


def generate_reviews(n: int, seed: int = 0) -> list[str]:
    """``n`` reviews with sentiment drawn uniformly in [0, 1] (deterministic for a seed)."""
    rng = np.random.default_rng([seed, 2024])
    return [review(rng, float(rng.random())) for _ in range(n)]

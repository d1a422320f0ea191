"""HH-format dialogues for the text tests (a helper module, not a test)."""

TOPICS = ["bake bread", "fix a flat tyre", "learn guitar", "plant tomatoes", "write a cover letter", "save money",
          "train a puppy", "paint a room", "start running", "clean an oven", "study for exams", "make coffee"]
HELPFUL = ["Sure! To {t}, start by gathering what you need, then go step by step and take your time.",
           "Happy to help. The easiest way to {t} is to begin small, follow a simple plan, and practise daily.",
           "Great question! First, read a short guide on how to {t}. Then try it once and adjust as you go."]
UNHELPFUL = ["I don't know.", "No.", "Why would you want to {t}?", "That is not something I can talk about."]


def write_hh_jsonl(path, n, seed=0):
    """HH-format pairs (`chosen`/`rejected` dialogues sharing the prompt): chosen replies are
    helpful instructions, rejected ones curt; one or two turns, distinct prompts."""
    import gzip
    import json
    import random

    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            t = rng.choice(TOPICS)
            prompt = f"\n\nHuman: How do I {t}? (question {i})\n\nAssistant:"
            if rng.random() < 0.3:
                prompt = "\n\nHuman: Hi there.\n\nAssistant: Hello! How can I help?" + prompt
            good = rng.choice(HELPFUL).format(t=t)
            bad = rng.choice(UNHELPFUL).format(t=t)
            f.write(json.dumps({"chosen": prompt + " " + good, "rejected": prompt + " " + bad}) + "\n")
    return path

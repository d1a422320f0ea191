"""Text-family building blocks (IMDb, Anthropic HH): local data readers, the offline corpus, rewards."""

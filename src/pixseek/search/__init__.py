"""Query planning over a Store: text, image, hybrid and object search, and the text-embedding cache."""

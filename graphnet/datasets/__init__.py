"""Datasets: small generated ones a netdef can name, and recipes that prepare real ones."""

import os

RECIPES = ("mnist", "shakespeare")  # `graphnet data NAME` writes data/NAME/


def recipe_for(path):
    """The command that prepares the files under `path` ('graphnet data mnist'), or None."""
    parts = os.path.normpath(path).split(os.sep)
    for i, part in enumerate(parts[:-1]):
        if part == "data" and parts[i + 1] in RECIPES:
            return f"graphnet data {parts[i + 1]}"
    return None

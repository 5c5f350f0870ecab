"""Datasets: small generated ones a netdef can name, and recipes that prepare real ones."""

import os

from ..errors import GraphnetError

RECIPES = ("mnist", "shakespeare")  # `graphnet data NAME` writes data/NAME/


def recipe_for(path):
    """The command that prepares the files under `path` ('graphnet data mnist'), or None."""
    parts = os.path.normpath(path).split(os.sep)
    for i, part in enumerate(parts[:-1]):
        if part == "data" and parts[i + 1] in RECIPES:
            return f"graphnet data {parts[i + 1]}"
    return None


def check_source_folder(source):
    """A `--from DIR` must be a folder, checked before anything else: data already prepared
    must not hide a mistyped --from."""
    if not os.path.exists(source):
        raise GraphnetError("no such folder", field="--from", path=source)
    if not os.path.isdir(source):
        raise GraphnetError("is not a folder", field="--from", path=source)

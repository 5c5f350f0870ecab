"""Run directories with known statistics, written as the solver writes them."""

import os

import numpy as np

from graphnet.coffee.lounge import CoffeeLounge


def fake_run(folder, name="run", iterations=300, seed=0, epoch_every=100, val_every=50):
    """A run directory whose statistics.h5 holds a falling noisy loss, a learning rate,
    epochs and validation accuracy and loss; returns its path."""
    run = os.path.join(folder, name)
    rng = np.random.default_rng(seed)
    lounge = CoffeeLounge(os.path.join(run, "statistics.h5"))
    for i in range(1, iterations + 1):
        lounge.record(i, "train/loss", 2.0 * np.exp(-i / 80) + 0.1 * rng.random())
        lounge.record(i, "train/learning_rate", 0.01 * (1 + 1e-3 * i) ** -0.75)
        if i % epoch_every == 0:
            lounge.record(i, "train/epoch", i // epoch_every)
        if i % val_every == 0:
            lounge.record(i, "val/accuracy", 1 - np.exp(-i / 100) + 0.01 * rng.random())
            lounge.record(i, "val/loss", np.exp(-i / 100) + 0.01 * rng.random())
    lounge.save()
    return run

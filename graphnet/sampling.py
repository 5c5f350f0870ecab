"""`graphnet sample`: text from a trained character model, one character at a time.

The model is the netdef's deploy net (graphnet.load): its SequenceData layer becomes an
Input, its losses and statistics drop out, and `predict` carries the recurrent layers'
state from call to call, as it was carried from window to window in training. Each
character goes in as the next step of one stream; the scores the loss read are the
logits of the next character.
"""

import numpy as np

from .datasets.shakespeare import read_alphabet
from .deploy import load
from .errors import GraphnetError


def sample(netdef, snapshot, prime="\n", length=500, temperature=1.0, seed=None, backend=None):
    """`prime` followed by `length` characters drawn from the model in `snapshot`.

    Each is drawn from softmax(scores / temperature); temperature 0 takes the likeliest.
    """
    sources = [l for l in netdef.layers if l.is_source]
    if not sources or any(type(l).__name__ != "SequenceData" for l in sources):
        raise GraphnetError("graphnet sample needs a net fed by a SequenceData layer, "
                            "which names the alphabet's file", file=netdef.path)
    losses = [l for l in netdef.layers if l.is_loss]
    if not losses:
        raise GraphnetError("graphnet sample reads the scores a loss layer reads, but the net "
                            "has no loss layer", file=netdef.path)
    data = sources[-1]
    try:
        alphabet = read_alphabet(data.source)
    except GraphnetError as err:
        raise err.locate(file=netdef.path, line=getattr(data, "_where", (None, None))[1],
                         layer=data.name, field="source") from None
    net = load(netdef, snapshot, backend)
    chars, scores = data.tops[0], losses[0].bottoms[0]
    index = {c: i for i, c in enumerate(alphabet)}
    unknown = [c for c in prime if c not in index]
    if not prime or unknown:
        raise GraphnetError(f"{unknown[0]!r} is not in the model's alphabet {alphabet!r}" if unknown
                            else "must hold at least one character", field="--prime")
    rng = np.random.default_rng(seed)
    text = list(prime)
    for step in range(len(prime) + length - 1):
        feed = prime[step] if step < len(prime) else text[-1]
        # The first step starts from a zero state, as a cont of 0 would (cont is left at 1).
        logits = net.predict({chars: np.full((1, 1), index[feed])}, outputs=scores)
        if step < len(prime) - 1:
            continue
        logits = logits.astype(np.float64).ravel()
        if logits.size != len(alphabet):
            raise GraphnetError(f"the net scores {logits.size} characters, but the alphabet of "
                                f"{data.source} has {len(alphabet)}: give the layer that makes "
                                f"'{scores}' output_dim: {len(alphabet)}", file=netdef.path)
        if temperature == 0:
            choice = int(np.argmax(logits))
        else:
            p = np.exp((logits - logits.max()) / temperature)
            choice = rng.choice(len(p), p=p / p.sum())
        text.append(alphabet[choice])
    return "".join(text)

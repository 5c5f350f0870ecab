"""`graphnet sample`: text from a trained character model, one character at a time.

The netdef's own layers make the sampling net: its SequenceData layer becomes an Input of
one step of one stream, and its losses and statistics are left out, so the scores the loss
read are the net's output. Each character goes in as the next step; the recurrent layers
carry their state from step to step, as they did from window to window in training.
"""

import numpy as np

from .datasets.shakespeare import read_alphabet
from .errors import GraphnetError
from .io.snapshot import Snapshot
from .layers import Input
from .net import Net


def sampling_net(netdef, backend=None, dtype=None):
    """(net, input top, cont top, scores blob, alphabet) for one step of one stream."""
    sources = [l for l in netdef.layers if l.is_source]
    if not sources or any(type(l).__name__ != "SequenceData" for l in sources):
        raise GraphnetError("graphnet sample needs a net fed by a SequenceData layer, "
                            "which names the alphabet's file", file=netdef.path)
    losses = [l for l in netdef.layers if l.is_loss]
    if not losses:
        raise GraphnetError("graphnet sample reads the scores a loss layer reads, but the net "
                            "has no loss layer", file=netdef.path)
    data = sources[-1]
    layers = []
    for layer in netdef.layers:
        if layer.is_source:
            layer = Input(name=layer.name, tops=layer.tops, shapes=[[1, 1]] * 3, phase=layer.phase,
                          include=layer.include, exclude=layer.exclude)
        elif layer.is_loss or layer.has_stats:
            continue
        layers.append(layer)
    net = Net(netdef.name, layers, phase="test", backend=backend or netdef.backend,
              dtype=dtype or netdef.dtype, seed=netdef.seed)
    try:
        alphabet = read_alphabet(data.source)
    except GraphnetError as err:
        raise err.locate(file=netdef.path, line=getattr(data, "_where", (None, None))[1],
                         layer=data.name, field="source") from None
    return net, data.tops[0], data.tops[2], losses[0].bottoms[0], alphabet


def sample(netdef, snapshot, prime="\n", length=500, temperature=1.0, seed=None, backend=None):
    """`prime` followed by `length` characters drawn from the model in `snapshot`.

    Each is drawn from softmax(scores / temperature); temperature 0 takes the likeliest.
    """
    net, chars, cont, scores, alphabet = sampling_net(netdef, backend)
    with Snapshot(snapshot) as snap:
        missing = snap.load_params(net, exact=False)
    if missing:
        raise GraphnetError(f"has no parameter '{missing[0]}' that the net needs", file=snapshot)
    index = {c: i for i, c in enumerate(alphabet)}
    unknown = [c for c in prime if c not in index]
    if not prime or unknown:
        raise GraphnetError(f"{unknown[0]!r} is not in the model's alphabet {alphabet!r}" if unknown
                            else "must hold at least one character", field="--prime")
    rng = np.random.default_rng(seed)
    backend = net.backend
    net.blobs[cont].data[...] = 0   # the first character starts a sequence
    text = list(prime)
    for step in range(len(prime) + length - 1):
        feed = prime[step] if step < len(prime) else text[-1]
        net.blobs[chars].data[...] = index[feed]
        net.forward()
        net.blobs[cont].data[...] = 1
        if step < len(prime) - 1:
            continue
        logits = backend.to_host(net.blobs[scores].data).astype(np.float64).ravel()
        if temperature == 0:
            choice = int(np.argmax(logits))
        else:
            p = np.exp((logits - logits.max()) / temperature)
            choice = rng.choice(len(p), p=p / p.sum())
        text.append(alphabet[choice])
    return "".join(text)

"""A polishing's state after each complete round (:func:`rl.polish_rounds.polish`'s ``checkpoint``), one file written
atomically and read back to resume: the weights being polished and Adam's moments, the random generators' states,
the carried economies, the records and the wall-clock seconds so far, and the settings they belong to.

It is read with ``torch.load(..., weights_only=True)``: tensors and plain values only, no unpickled objects.  A
polishing resumed from it ends with the weights the whole polishing would have given, bit for bit
(``tests/test_polish_checkpoint.py``); it may also be resumed with more rounds than it first had (each round's
draws do not depend on the number of rounds)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np
import torch as th

from econ.io import write_bytes_atomic
from rl import core

FILE = "polish-checkpoint.pt"
"""The checkpoint's name in its directory."""

RESUMABLE = "rounds"
"""The one setting a resumed polishing may change."""


def save(directory, *, settings: dict, policy, optimiser, generators, ending, records, seconds: float = 0.0,
         backup=None) -> Path:
    """Write the state after ``len(records)`` complete rounds into ``directory``/:data:`FILE`, atomically, with
    ``seconds``, the polishing's wall-clock to the end of that round over every sitting, and ``backup``, the state
    the last round began from (the weights', Adam's and the carried economies' ``guard`` returns to), or None."""
    state = {"settings": {k: v for k, v in settings.items() if k != RESUMABLE}, "seconds": float(seconds),
             "policy": policy.state_dict(), "optimiser": optimiser.state_dict(),
             "generators": [g.bit_generator.state for g in generators],
             "ending": _economies(ending),
             "records": [r._asdict() for r in records],
             "backup": None if backup is None else {"policy": backup[0], "optimiser": backup[1],
                                                    "ending": _economies(backup[2])}}
    buffer = io.BytesIO()
    th.save(state, buffer)
    return write_bytes_atomic(Path(directory) / FILE, buffer.getvalue())


def _economies(ending) -> Optional[dict]:
    return None if ending is None else {k: th.as_tensor(np.asarray(v)) for k, v in ending._asdict().items()}


def _economy_state(saved) -> Optional[core.EconomyState]:
    return None if saved is None else core.EconomyState(**{k: v.numpy() for k, v in saved.items()})


def load(directory, settings: dict) -> Optional[dict]:
    """The checkpoint in ``directory`` (None if there is none), refused in one line if it belongs to other settings
    than ``settings`` (``rounds`` aside).  ``ending`` comes back as a :class:`rl.core.EconomyState` or None,
    ``backup`` as None or (weights, Adam's state, ending)."""
    path = Path(directory) / FILE
    if not path.is_file():
        return None
    state = th.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    wanted = {k: v for k, v in settings.items() if k != RESUMABLE}
    if state["settings"] != wanted:
        changed = sorted(k for k in set(wanted) | set(state["settings"])
                         if wanted.get(k) != state["settings"].get(k))
        parts = [f"{k}: {state['settings'].get(k)!r} there, {wanted.get(k)!r} now" if k != "model" else
                 "another model's weights" for k in changed]
        raise ValueError(f"{path} belongs to a polishing with other settings ({'; '.join(parts)}); only rounds may "
                         f"change on resuming")
    state["ending"] = _economy_state(state["ending"])
    backup = state.get("backup")  # (a checkpoint written before guard has none)
    state["backup"] = None if backup is None else (backup["policy"], backup["optimiser"],
                                                   _economy_state(backup["ending"]))
    return state


def restore(state: dict, policy, optimiser, generators) -> None:
    """Set ``policy``'s weights, ``optimiser``'s moments and the ``generators``' states to ``state``'s."""
    policy.load_state_dict(state["policy"])
    optimiser.load_state_dict(state["optimiser"])
    for generator, saved in zip(generators, state["generators"]):
        generator.bit_generator.state = saved


def elapsed(directory) -> float:
    """The wall-clock seconds of the polishing kept in ``directory`` to its last complete round (0 when there is
    none, or it was written before the seconds were kept): what a resumed polishing adds its own time to."""
    path = Path(directory) / FILE
    if not path.is_file():
        return 0.0
    return float(th.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True).get("seconds", 0.0))

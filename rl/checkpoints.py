"""Checkpoints of a training run, written atomically as a set, and resuming from them.

A checkpoint is a folder ``checkpoints/step_<timesteps>/`` holding

- ``model.zip``: the SB3 model (weights, optimiser state, counters, last observation);
- ``replay_buffer.pkl``: the replay buffer (off-policy algorithms only);
- ``state.npz``: arrays, read with ``allow_pickle=False``: the environment's
  state (capital, technology, employment, time, running episode returns), the
  torch generator state and the key of NumPy's global Mersenne Twister;
- ``state.json``: the environment's ``numpy.random.Generator`` state, the
  generator of SB3's action space, the rest of NumPy's and Python's global
  random state, and the state of the run's callbacks;
- ``manifest.json``, written last: the step, the run's identity (what must not
  change on resume) and the SHA-256 digest and size of every other file.

Every file is written under a temporary name and renamed; the manifest is
written last, also by rename, so a checkpoint without a manifest is
incomplete, and one whose files do not match the manifest's digests is
damaged: :func:`latest_checkpoint` skips both with a message.  The digests are
checked before anything of the checkpoint is unpickled (docs/security.md).

Checkpoints are taken where SB3's learning loop can be entered again exactly:
at the start of a rollout (:meth:`CheckpointCallback._on_rollout_start`), after
the previous rollout's gradient steps, once the run has passed the next
multiple of ``checkpoint_every`` agent-steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from econ.io import write_json_atomic

FORMAT = 1
"""Version of the checkpoint layout; a checkpoint of another version is not resumed."""

MANIFEST = "manifest.json"
_STEP_DIR = re.compile(r"^step_(\d+)$")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _commit(tmp: Path, final: Path) -> None:
    """Flush ``tmp`` to disk and rename it to ``final`` (atomic on one file system)."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def _unwrapped(env):
    return env.unwrapped if hasattr(env, "unwrapped") else env


# ----------------------------------------------------------------------------- random state
def random_state(model) -> tuple[dict, dict]:
    """(arrays, JSON) of every generator a learning step draws from (global and the action space's)."""
    mt = np.random.get_state()
    version, internal, gauss = random.getstate()
    arrays = {"torch_rng": torch.get_rng_state().numpy(), "numpy_mt_keys": np.asarray(mt[1])}
    state = {
        "numpy_mt": {"pos": int(mt[2]), "has_gauss": int(mt[3]), "cached_gaussian": float(mt[4])},
        "python_random": {"version": version, "internal": list(internal), "gauss": gauss},
        "action_space": model.action_space.np_random.bit_generator.state,
    }
    return arrays, state


def restore_random_state(model, arrays, state: dict) -> None:
    torch.set_rng_state(torch.from_numpy(np.array(arrays["torch_rng"], dtype=np.uint8)))
    mt = state["numpy_mt"]
    np.random.set_state(("MT19937", np.array(arrays["numpy_mt_keys"], dtype=np.uint32), mt["pos"], mt["has_gauss"],
                         mt["cached_gaussian"]))
    py = state["python_random"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    model.action_space.np_random.bit_generator.state = state["action_space"]


# ----------------------------------------------------------------------------- saving
def save_checkpoint(model, directory: Path, identity: dict, callbacks: dict, *, replay_buffer: bool) -> Path:
    """Write the checkpoint of ``model`` at its current step into ``directory/step_<n>`` (see the module docstring)."""
    step = int(model.num_timesteps)
    folder = Path(directory) / f"step_{step:012d}"
    if (folder / MANIFEST).exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    env = _unwrapped(model.get_env())
    env_arrays, env_state = env.get_state()
    rng_arrays, rng_state = random_state(model)
    written = []

    tmp = folder / ".model.zip.tmp"
    with open(tmp, "wb") as handle:  # SB3 saves into any file-like object
        model.save(handle)
    _commit(tmp, folder / "model.zip")
    written.append("model.zip")
    if replay_buffer:
        tmp = folder / ".replay_buffer.pkl.tmp"
        with open(tmp, "wb") as handle:
            model.save_replay_buffer(handle)
        _commit(tmp, folder / "replay_buffer.pkl")
        written.append("replay_buffer.pkl")
    tmp = folder / ".state.npz.tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **{f"env_{k}": v for k, v in env_arrays.items()}, **rng_arrays)
    _commit(tmp, folder / "state.npz")
    written.append("state.npz")
    tmp = folder / ".state.json.tmp"
    tmp.write_text(json.dumps({"env": env_state, "random": rng_state, "callbacks": callbacks}))
    _commit(tmp, folder / "state.json")
    written.append("state.json")
    files = {name: {"sha256": file_digest(folder / name), "bytes": (folder / name).stat().st_size}
             for name in written}
    write_json_atomic(folder / MANIFEST, {"format": FORMAT, "step": step, "identity": identity, "files": files})
    return folder


# ----------------------------------------------------------------------------- finding and loading
def check_checkpoint(folder: Path) -> Optional[str]:
    """None if ``folder`` is a complete checkpoint whose files match its manifest, else the reason it is not."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return "incomplete (no manifest: written when the run was stopped)"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "damaged manifest"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"not a checkpoint of format {FORMAT}"
    files = manifest.get("files")
    if not isinstance(files, dict) or "model.zip" not in files:
        return "manifest lists no model"
    for name, entry in files.items():
        path = folder / name
        if Path(name).name != name or not path.is_file() or path.is_symlink():
            return f"{name} missing"
        if path.stat().st_size != entry.get("bytes") or file_digest(path) != entry.get("sha256"):
            return f"{name} does not match the digest written with it"
    return None


def list_checkpoints(directory: Path) -> list:
    """Checkpoint folders in ``directory``, newest (most timesteps) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found, reverse=True)]


def latest_checkpoint(directory: Path, log=print) -> Optional[tuple]:
    """``(folder, manifest)`` of the newest complete checkpoint in ``directory``; the skipped ones are reported."""
    for folder in list_checkpoints(directory):
        problem = check_checkpoint(folder)
        if problem is None:
            return folder, json.loads((folder / MANIFEST).read_text())
        log(f"skipping checkpoint {folder.name}: {problem}")
    return None


def load_checkpoint(folder: Path, algo_class, env, *, replay_buffer: bool):
    """The model of a complete checkpoint (checked again first), with env, buffer and random state restored.

    Returns ``(model, callbacks_state)``.  The model is unpickled: call this
    only for run directories this project wrote (docs/security.md).
    """
    problem = check_checkpoint(folder)
    if problem is not None:
        raise ValueError(f"checkpoint {folder}: {problem}")
    # force_reset=False keeps the saved last observation, so learning continues without resetting the env
    model = algo_class.load(folder / "model.zip", env=env, device="cpu", force_reset=False)
    if replay_buffer:
        model.load_replay_buffer(folder / "replay_buffer.pkl")
    with np.load(folder / "state.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    state = json.loads((folder / "state.json").read_text())
    _unwrapped(env).set_state({k[4:]: v for k, v in arrays.items() if k.startswith("env_")}, state["env"])
    restore_random_state(model, arrays, state["random"])  # after load: SB3's load reseeds every generator
    return model, state["callbacks"]


def remove_later_than(directory: Path, step: int) -> None:
    """Delete checkpoint folders of more than ``step`` timesteps (a resumed run writes its own)."""
    for folder in list_checkpoints(directory):
        if int(_STEP_DIR.match(folder.name).group(1)) > step:
            shutil.rmtree(folder)


# ----------------------------------------------------------------------------- the callback
class CheckpointCallback(BaseCallback):
    """Save a checkpoint at the first rollout start at or past each multiple of ``every`` agent-steps.

    ``stateful`` are the run's callbacks whose ``checkpoint_state()`` goes
    into the checkpoint (restored with ``restore_state``); ``identity`` is
    written into each manifest.
    """

    def __init__(self, directory: Path, every: int, identity: dict, *, replay_buffer: bool,
                 stateful: Optional[dict] = None):
        super().__init__(0)
        self.directory, self.every, self.identity = Path(directory), int(every), identity
        self.replay_buffer = replay_buffer
        self.stateful = dict(stateful or {})
        self.last: Optional[int] = None

    def _on_training_start(self) -> None:
        if self.last is None:
            self.last = int(self.num_timesteps)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.num_timesteps // self.every > self.last // self.every:
            state = {name: cb.checkpoint_state() for name, cb in self.stateful.items()}
            save_checkpoint(self.model, self.directory, self.identity, state, replay_buffer=self.replay_buffer)
            self.last = int(self.num_timesteps)

"""Checkpoints of a training run, written atomically as a set, and resuming from them.

A checkpoint is a folder ``checkpoints/step_<timesteps>/`` holding

- ``model.zip``: the SB3 model (weights, optimiser state, counters, last observation);
- ``replay_buffer.pkl``: the replay buffer (off-policy algorithms only; kept in
  the newest :data:`KEEP_REPLAY_BUFFERS` complete checkpoints of a run, see
  :func:`drop_old_replay_buffers`);
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

An off-policy checkpoint whose replay buffer was dropped (its manifest says
``"replay_buffer_dropped": true``) still holds a complete model, which is
scored like any other (:mod:`rl.loading`), but a run cannot continue from it
exactly, so :func:`latest_checkpoint` skips it with a message.

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
REPLAY_BUFFER = "replay_buffer.pkl"

KEEP_REPLAY_BUFFERS = 2
"""Complete checkpoints of an off-policy run (the newest) that keep their replay buffer: two, so that a run whose
newest checkpoint is damaged still resumes from the one before.  The buffer is most of a checkpoint (54 MB at SB3's
default 1 M transitions of 20 households' observations); the older checkpoints keep their models."""
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
        tmp = folder / f".{REPLAY_BUFFER}.tmp"
        with open(tmp, "wb") as handle:
            model.save_replay_buffer(handle)
        _commit(tmp, folder / REPLAY_BUFFER)
        written.append(REPLAY_BUFFER)
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


def drop_old_replay_buffers(directory: Path, keep: int = KEEP_REPLAY_BUFFERS) -> list:
    """Delete the replay buffer of every complete checkpoint in ``directory`` but the newest ``keep`` that hold one.

    Each such checkpoint's manifest is first rewritten (atomically) without the buffer and with
    ``"replay_buffer_dropped": true``, then the file is deleted: a kill in between leaves a complete checkpoint and
    a stray file, never a manifest naming a missing file.  Returns the folders changed.
    """
    dropped, holding = [], 0
    for folder in list_checkpoints(directory):
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # incomplete or damaged: not counted, left to latest_checkpoint's report
        if not isinstance(manifest, dict) or REPLAY_BUFFER not in manifest.get("files", {}):
            continue
        holding += 1
        if holding <= keep:
            continue
        files = {name: entry for name, entry in manifest["files"].items() if name != REPLAY_BUFFER}
        write_json_atomic(folder / MANIFEST, {**manifest, "files": files, "replay_buffer_dropped": True})
        (folder / REPLAY_BUFFER).unlink(missing_ok=True)
        dropped.append(folder)
    return dropped


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
    """``(folder, manifest)`` of the newest complete checkpoint in ``directory`` that a run can continue from (not
    one whose replay buffer was dropped); the skipped ones are reported."""
    for folder in list_checkpoints(directory):
        problem = check_checkpoint(folder)
        if problem is None:
            manifest = json.loads((folder / MANIFEST).read_text())
            if not manifest.get("replay_buffer_dropped"):
                return folder, manifest
            problem = (f"its replay buffer was dropped (an off-policy run keeps it in its newest "
                       f"{KEEP_REPLAY_BUFFERS} checkpoints)")
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
    if replay_buffer and REPLAY_BUFFER not in json.loads((folder / MANIFEST).read_text())["files"]:
        raise ValueError(f"checkpoint {folder}: no replay buffer (dropped or never written); a run continues only "
                         f"from a checkpoint that holds one")  # the manifest's files are the digest-checked ones
    # force_reset=False keeps the saved last observation, so learning continues without resetting the env
    model = algo_class.load(folder / "model.zip", env=env, device="cpu", force_reset=False)
    if replay_buffer:
        model.load_replay_buffer(folder / REPLAY_BUFFER)
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
            if self.replay_buffer:
                drop_old_replay_buffers(self.directory)
            self.last = int(self.num_timesteps)

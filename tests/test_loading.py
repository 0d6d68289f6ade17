"""Loading a model never unpickles: rebuilt from config.json, weights read with torch.load(weights_only=True).

- Every shipped policy loads this way and predicts exactly (bit for bit) what
  SB3's own pickle-based ``load`` of the same (trusted) file predicts.
- A crafted ``model.zip`` with a code payload in every pickled entry of its
  ``data`` file and in ``policy.pth`` is refused or loaded without running the
  payload (a marker file the payload would write never appears), also through
  ``python -m validation.compare --model``.
- A zip without ``config.json`` is refused with a one-line message.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest
import torch

from rl.loading import load_model
from rl.recipes import algorithm_class
from validation.compare import POLICY_DIR, main as compare, scoring_experiment

SHIPPED = ("rbc-full-depreciation", "rbc", "ks", "ks-het-mild", "ks-het-marked", "general")


@pytest.mark.parametrize("name", SHIPPED)
def test_safe_load_predicts_exactly_what_sb3_load_predicts(name):
    run = POLICY_DIR / name
    experiment = scoring_experiment(name, [str(run)])
    safe = load_model(run, experiment)
    algo = json.loads((run / "config.json").read_text())["algorithm"]
    unused = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    trusted = algorithm_class(algo).load(run / "model.zip", device="cpu", custom_objects=unused)  # shipped: trusted
    obs = (2.0 * np.random.default_rng(0).standard_normal((2_000, len(experiment.observations)))).astype(np.float32)
    obs[:, 0] = np.abs(obs[:, 0]) + 0.1  # capital is positive
    a, _ = safe.predict(obs, deterministic=True)
    b, _ = trusted.predict(obs, deterministic=True)
    assert np.array_equal(a, b)


class _Payload:
    """Unpickling this writes a marker file: what an attacker's code would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def _crafted_run(tmp_path, marker):
    """The shipped rbc run with a payload in every pickled entry of data and in policy.pth."""
    run = tmp_path / "crafted"
    shutil.copytree(POLICY_DIR / "rbc", run)
    payload = base64.b64encode(pickle.dumps(_Payload(marker))).decode()
    with zipfile.ZipFile(POLICY_DIR / "rbc" / "model.zip") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(files["data"])
    poisoned = 0
    for entry in data.values():
        if isinstance(entry, dict) and ":serialized:" in entry:
            entry[":serialized:"] = payload
            poisoned += 1
    assert poisoned >= 3  # observation_space, action_space, schedules...
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(run / "model.zip", "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return run, files


def test_payload_in_the_pickled_entries_never_runs(tmp_path):
    marker = tmp_path / "marker"
    run, _ = _crafted_run(tmp_path, marker)
    experiment = scoring_experiment("rbc", [str(run)])
    model = load_model(run, experiment)  # the weights are the shipped ones: it loads, and nothing ran
    assert model.policy is not None and not marker.exists()
    # negative control: SB3's own load of the same file runs the payload
    try:
        algorithm_class("ppo").load(run / "model.zip", device="cpu")
    except Exception:  # noqa: BLE001 - the load fails after the payload ran
        pass
    assert marker.exists()


def test_payload_in_policy_pth_is_refused(tmp_path, capsys):
    marker = tmp_path / "marker"
    run, files = _crafted_run(tmp_path, marker)
    buffer = io.BytesIO()
    torch.save({"weights": _Payload(marker)}, buffer)
    files["policy.pth"] = buffer.getvalue()
    with zipfile.ZipFile(run / "model.zip", "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(ValueError, match="policy.pth holds more than tensors"):
        load_model(run, scoring_experiment("rbc", [str(run)]))
    assert compare(["rbc", "--model", str(run), "--out", str(tmp_path / "out")]) == 2
    assert "policy.pth holds more than tensors" in capsys.readouterr().err
    assert not marker.exists()


def test_zip_without_config_is_refused(tmp_path):
    shutil.copy(POLICY_DIR / "rbc" / "model.zip", tmp_path / "model.zip")
    experiment = scoring_experiment("rbc", [str(POLICY_DIR / "rbc")])
    with pytest.raises(ValueError, match="no config.json") as err:
        load_model(tmp_path / "model.zip", experiment)
    assert "\n" not in str(err.value)


def test_weights_of_another_network_are_refused(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(POLICY_DIR / "rbc", run)
    config = json.loads((run / "config.json").read_text())
    config["hyperparameters"]["policy_kwargs"]["net_arch"] = [32, 32]
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not fit the network"):
        load_model(run, scoring_experiment("rbc", [str(run)]))

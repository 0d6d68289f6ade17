"""`python -m validation.equilibrium`: the equilibrium check's command line (the check itself: the slow tests of
tests/test_same_economy.py)."""

from __future__ import annotations

import numpy as np
import pytest

from validation import equilibrium
from validation.welfare import Gain


def test_table_marks_exactly_the_gains_beyond_their_band():
    factors = (0.95, 1.05)
    table = {(0.25, 0.95): Gain(0.1, 0.2, np.zeros(2)), (0.25, 1.05): Gain(-0.3, 0.1, np.zeros(2)),
             (1.0, 0.95): Gain(0.2, 0.1, np.zeros(2)), (1.0, 1.05): Gain(0.0, 0.1, np.zeros(2)),
             (1.5, 0.95): Gain(0.05, 0.01, np.zeros(2)), (1.5, 1.05): Gain(-0.05, 0.01, np.zeros(2))}
    text = equilibrium.format_table("ks-het-marked", table, factors)
    rows = text.splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["0.25", "1", "1.5"]
    assert text.count("**") == 4  # two bold cells: (1, 0.95) and (1.5, 0.95)
    assert "**+0.200 +- 0.100**" in rows[1] and "**+0.050 +- 0.010**" in rows[2]


@pytest.mark.parametrize("argv, message", [
    (["ks", "--economies", "1"], "--economies"),
    (["ks", "--factors", "1.0"], "--factors"),
    (["ks", "--factors", "-0.5"], "--factors"),
])
def test_bad_input_is_refused_with_one_line_before_any_work(argv, message, capsys):
    assert equilibrium.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_unknown_rule_or_experiment_is_refused():
    with pytest.raises(SystemExit):
        equilibrium.main(["ks", "--rules", "closed-loop"])
    with pytest.raises(SystemExit):
        equilibrium.main(["rbc"])

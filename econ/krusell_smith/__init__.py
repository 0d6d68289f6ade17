"""The Krusell-Smith economy: calibrations (with permanent capital-productivity
types) and the law-of-motion solution."""

from econ.krusell_smith.best_response import BestResponse, best_response
from econ.krusell_smith.params import AGGREGATE_STATES, CALIBRATIONS, KrusellSmithParams
from econ.krusell_smith.law_of_motion import fit_alm
from econ.krusell_smith.solver import KrusellSmithSolution, solve_krusell_smith
from econ.krusell_smith.two_moment import TwoMomentSolution, solve_two_moment

__all__ = [
    "AGGREGATE_STATES",
    "BestResponse",
    "CALIBRATIONS",
    "KrusellSmithParams",
    "KrusellSmithSolution",
    "TwoMomentSolution",
    "best_response",
    "fit_alm",
    "solve_krusell_smith",
    "solve_two_moment",
]

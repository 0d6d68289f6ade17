"""``python -m econ [rbc]``: the representative-agent RBC solved every way the project knows.

Prints the steady state, the first-order solution, the global (VFI) solution
with its Euler-equation errors, the policies side by side, and the impulse
responses; writes ``irf.png``, ``policy.png`` and ``summary.json`` to ``--out``.
With ``--dynare FILE`` it writes a Dynare ``.mod`` file of the calibration instead.
"""

from __future__ import annotations

import argparse
import sys
import inspect
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from econ.rbc.brock_mirman import brock_mirman_policy
from econ.fixed_point import ConvergenceError
from econ.io import write_json_atomic, write_text_atomic
from econ.rbc.dynare import to_dynare
from econ.rbc.linear import linearize
from econ.cli_help import ArgumentParser, HelpFormatter, calibration_defaults
from econ.rbc.params import DEFAULT_CHI, UTILITIES, RBCParams
from econ.rbc.vfi import nonlinear_impulse_response, solve_vfi
from econ.rbc.plots import plot_impulse_responses, plot_policy

CALIBRATIONS = {"rbc": RBCParams.rbc, "rbc-full-depreciation": RBCParams.rbc_full_depreciation}
OVERRIDABLE = {
    "alpha": "capital share in Y = A K^alpha L^(1-alpha), in (0, 1)",
    "beta": "discount factor, in (0, 1)",
    "delta": "depreciation rate, in (0, 1]",
    "rho": "persistence of log TFP, log A' = rho log A + sigma eps, in (-1, 1)",
    "sigma": "standard deviation of the TFP innovation, >= 0",
}
COMMANDS = {
    "rbc": "the representative-agent RBC (the default command): steady state, linear and VFI solutions, IRFs",
    "ks": "the Krusell-Smith economy solved for its law of motion (python -m econ ks --help)",
}


def build_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  python -m econ {name:<4s} {text}" for name, text in COMMANDS.items())
    parser = ArgumentParser(
        prog="python -m econ [rbc]",
        description=f"The representative-agent RBC solved every way the project knows.\n\ncommands:\n{commands}",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--calibration", choices=list(CALIBRATIONS), default="rbc",
                        help="named calibration: rbc (delta 0.025) or rbc-full-depreciation (delta 1, Brock-Mirman)")
    parser.add_argument("--utility", choices=UTILITIES, default="linear",
                        help="period utility: linear u = log c - chi l, or log_leisure u = log c + chi log(1 - l)")
    for name, text in OVERRIDABLE.items():
        parser.add_argument(f"--{name}", type=float, default=None,
                            help=f"{text} {calibration_defaults(name, CALIBRATIONS)}")
    parser.add_argument("--chi", type=float, default=None,
                        help="weight of the disutility of labour, > 0 (default: "
                        + ", ".join(f"{value:g} with {utility} utility" for utility, value in DEFAULT_CHI.items())
                        + ")")
    n_capital = inspect.signature(solve_vfi).parameters["n_capital"].default
    parser.add_argument("--n-capital", type=int, default=n_capital, help="VFI capital grid size")
    parser.add_argument("--horizon", type=int, default=40, help="impulse-response horizon, periods")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Euler-error simulation")
    parser.add_argument("--no-vfi", action="store_true", help="skip the global (VFI) solution")
    parser.add_argument("--out", default="output/rbc", help="folder for the PNG figures and summary.json")
    parser.add_argument("--dynare", metavar="FILE", default=None,
                        help="write a Dynare .mod file of the chosen calibration to FILE and exit without solving "
                        "(default: none, solve and report)")
    return parser


def check_output_folder(parser, flag: str, folder) -> None:
    """Refuse (one-line error) an output folder that is a file or cannot be written, before any computation."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        parser.error(f"argument {flag}: {folder} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        parser.error(f"argument {flag}: cannot write to {folder} ({error.strerror or error})")


def params_from_args(args) -> RBCParams:
    overrides = {name: getattr(args, name) for name in (*OVERRIDABLE, "chi") if getattr(args, name) is not None}
    return CALIBRATIONS[args.calibration](utility=args.utility, **overrides)


def _row(label, values, fmt="{:>12.6f}"):
    return f"  {label:<24s}" + "".join(fmt.format(v) for v in values)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = params_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    if args.n_capital < 6:
        parser.error(f"argument --n-capital: the VFI grid needs at least 6 nodes, got {args.n_capital}")
    if args.horizon < 1:
        parser.error(f"argument --horizon: must be an integer >= 1, got {args.horizon}")
    if args.dynare is None:
        check_output_folder(parser, "--out", args.out)
        try:  # the steady state and its linearisation first: a calibration they refuse is refused before any output
            linearize(params)
        except ValueError as error:
            parser.error(str(error))
    if args.dynare is not None:
        write_text_atomic(args.dynare, to_dynare(params, horizon=args.horizon))
        print(f"wrote {args.dynare} (run it with: dynare {Path(args.dynare).name})")
        return 0
    vfi = None
    if not args.no_vfi:  # the global solution first: a calibration it cannot solve is reported before any output
        start = time.perf_counter()
        try:
            vfi = solve_vfi(params, n_capital=args.n_capital)
        except ConvergenceError as error:
            print(f"error: {error} (beta = {params.beta}; the value function's scale is 1/(1 - beta); "
                  f"--no-vfi skips the global solution)", file=sys.stderr)
            return 1
        vfi_seconds = time.perf_counter() - start
    print(f"RBC model: {params}")

    linear = linearize(params)
    ss = linear.steady_state
    print("\nDeterministic steady state (A = 1)")
    for name, value in asdict(ss).items():
        print(f"  {name:<24s}{value:>14.8f}")

    print("\nFirst-order solution (level deviations; states: capital, log TFP)")
    for name, row in zip(linear.control_names, linear.policy):
        print(_row(name, row))
    for name, row in zip(linear.state_names, linear.transition):
        print(_row(f"next {name}", row))
    moduli = np.sort(np.abs(linear.eigenvalues))
    print(f"  generalised eigenvalue moduli: {', '.join(f'{m:.6g}' for m in moduli)}")

    irf = linear.impulse_response(args.horizon)
    curves = {"linear (QZ)": irf}
    summary = {
        "params": params._asdict(),
        "steady_state": asdict(ss),
        "linear": {"policy": linear.policy.tolist(), "transition": linear.transition.tolist()},
        "irf_linear": {k: v.tolist() for k, v in irf.items()},
    }

    capital = ss.capital * np.linspace(0.6, 1.4, 81)
    tfp_levels = (np.exp(-2 * params.sigma), 1.0, np.exp(2 * params.sigma))
    def linear_policy(A):
        controls = linear.controls(capital, np.log(A))
        return controls["consumption_fraction"], controls["labour"]

    policies = {"linear": {A: linear_policy(A) for A in tfp_levels}}

    if params.delta == 1.0:
        bm = brock_mirman_policy(params)
        print(f"\nBrock-Mirman closed form: consumption fraction {bm.consumption_fraction:.8f}, labour {bm.labour:.8f}")
        policies["Brock-Mirman"] = {A: bm(capital, A) for A in tfp_levels}
        summary["brock_mirman"] = {"consumption_fraction": bm.consumption_fraction, "labour": bm.labour}

    if vfi is not None:
        result, seconds = vfi, vfi_seconds
        errors = result.euler_errors(seed=args.seed)
        print(
            f"\nGlobal solution (VFI): converged {result.converged} in {result.num_iter} iterations, "
            f"{seconds:.2f} s (including compilation on a first run)"
        )
        print(f"  Euler-equation errors, log10 |1 - c/c_EE| on the ergodic set: mean {errors.mean():.3f}, max {errors.max():.3f}")
        policies["VFI"] = {A: result.policy(capital, np.full_like(capital, A)) for A in tfp_levels}
        chat_vfi, labour_vfi = result.policy(np.array([ss.capital]), np.array([1.0]))
        print(f"  at the steady state: consumption fraction {chat_vfi[0]:.8f} (linear {ss.consumption_fraction:.8f}), "
              f"labour {labour_vfi[0]:.8f} (linear {ss.labour:.8f})")
        nonlinear = nonlinear_impulse_response(result, horizon=args.horizon)
        curves["nonlinear (VFI policy)"] = nonlinear
        summary["vfi"] = {
            "converged": bool(result.converged),
            "num_iter": int(result.num_iter),
            "seconds": seconds,
            "euler_error_mean_log10": float(errors.mean()),
            "euler_error_max_log10": float(errors.max()),
        }
        summary["irf_nonlinear"] = {k: np.asarray(v).tolist() for k, v in nonlinear.items()}

    print("\nImpulse responses to a one-standard-deviation TFP shock (level deviations)")
    header = "  period" + "".join(f"{name:>22s}" for name in irf)
    print(header)
    for t in list(range(min(6, args.horizon))) + [args.horizon - 1]:
        print(f"  {t:>6d}" + "".join(f"{irf[name][t]:>22.6e}" for name in irf))

    label = f"{args.calibration}, {params.utility} utility"
    plot_impulse_responses(curves, f"{args.out}/irf.png", title=f"Impulse responses to a 1-sd TFP shock ({label})")
    plot_policy(capital, policies, f"{args.out}/policy.png", steady_capital=ss.capital, title=f"Policy functions ({label})")
    write_json_atomic(f"{args.out}/summary.json", summary)
    print(f"\nwrote {args.out}/irf.png, {args.out}/policy.png, {args.out}/summary.json")
    return 0

"""Command line of the classical solvers.

    python -m econ [rbc] [options]     representative-agent RBC report (see econ.rbc_cli)
    python -m econ ks [options]        Krusell-Smith solution (see econ.ks_cli)
"""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ks":
        from econ import ks_cli

        return ks_cli.main(argv[1:])
    if argv and argv[0] == "rbc":
        argv = argv[1:]
    from econ import rbc_cli

    return rbc_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())

"""Command line of the classical solvers.

    python -m econ [rbc] [options]     representative-agent RBC report (see econ.rbc.cli)
    python -m econ ks [options]        Krusell-Smith solution (see econ.krusell_smith.cli)
"""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ks":
        from econ.krusell_smith import cli as ks_cli

        return ks_cli.main(argv[1:])
    if argv and argv[0] == "rbc":
        argv = argv[1:]
    from econ.rbc import cli as rbc_cli

    return rbc_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())

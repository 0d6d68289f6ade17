"""Command line of the classical solvers.

    python -m econ [rbc] [options]     representative-agent RBC report (see econ.rbc.cli)
    python -m econ ks [options]        Krusell-Smith solution (see econ.krusell_smith.cli)

``python -m econ --help`` lists both commands; an unknown command is refused
with the list of commands (and the closest one).
"""

from __future__ import annotations

import difflib
import sys

from econ.krusell_smith import cli as ks_cli
from econ.rbc import cli as rbc_cli


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and not argv[0].startswith("-") else "rbc"
    if argv and command == argv[0]:
        argv = argv[1:]
    if command == "ks":
        return ks_cli.main(argv)
    if command != "rbc":
        close = difflib.get_close_matches(command, rbc_cli.COMMANDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        rbc_cli.build_parser().error(
            f"unknown command {command!r}{hint}; commands: {', '.join(rbc_cli.COMMANDS)} (rbc is the default)"
        )
    return rbc_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())

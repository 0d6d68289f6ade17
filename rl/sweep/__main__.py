"""``python -m rl.sweep``: the command line of :mod:`rl.sweep.cli`."""

# Run through the importable package, as rl.train's __main__ does: the functions sent to worker processes
# (local spawn pool or Ray) are then pickled by reference as rl.sweep.run.*, which a worker can import.
from rl.sweep.cli import main

raise SystemExit(main())

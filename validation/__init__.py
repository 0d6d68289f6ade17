"""Scoring trained households against the classical benchmarks: ``python -m validation.compare EXPERIMENT``.

- :mod:`validation.scorecard`: the one row type, tolerance resolution, the seed band, printing;
- :mod:`validation.rbc`: ``rbc`` and ``rbc-full-depreciation`` against Brock-Mirman and VFI;
- :mod:`validation.krusell_smith`: the KS variants against the Krusell-Smith law-of-motion solution;
- :mod:`validation.general`: ``general`` against the heterogeneous steady state;
- :mod:`validation.controls`: the negative controls (steady-state fractions, an untrained network);
- :mod:`validation.plots`: the figures; :mod:`validation.compare` and :mod:`validation.ship`: the command lines.

Metrics, tolerances and the reasons for them: docs/validation.md.
"""

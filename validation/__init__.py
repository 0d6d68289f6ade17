"""Scoring trained households against the classical benchmarks: ``python -m validation.compare EXPERIMENT``.

- :mod:`validation.scorecard`: the one row type, tolerance resolution, the seed band, printing;
- :mod:`validation.rbc`: ``rbc`` and ``rbc-full-depreciation`` against Brock-Mirman and VFI;
- :mod:`validation.krusell_smith`: the KS benchmark solutions (continuum, price impact at N), the rule as an actor;
- :mod:`validation.same_economy`: the KS scorecard, benchmark rules played by the same N households on the same shocks;
- :mod:`validation.welfare`: one household switching rule or scaling its fraction, consumption-equivalent welfare;
- :mod:`validation.general`: ``general`` against the heterogeneous steady state;
- :mod:`validation.controls`: the negative controls (steady-state fractions, an untrained network);
- :mod:`validation.plots`: the figures; :mod:`validation.compare` and :mod:`validation.ship`: the command lines.

Metrics, tolerances and the reasons for them: docs/validation.md.
"""

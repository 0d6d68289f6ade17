"""Scoring trained agents against the classical benchmarks (spec section 5).

The scorecards (`python -m validation.compare EXPERIMENT`) are the subject of
issue 5 and are not implemented yet; the reusable pieces they will build on
already exist in ``econ``: ``econ.euler_errors`` and ``econ.simulate_policy``
accept any policy callable, ``econ.impulse_response`` gives the linear
benchmark and ``econ.solve_vfi`` the global one.
"""

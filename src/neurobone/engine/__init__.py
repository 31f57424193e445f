"""Integration engines: single subject (SciPy, stiff, exact at discontinuities)."""

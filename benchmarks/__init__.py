"""Side-by-side speed comparisons against the libraries a user would otherwise pick.

Not run by the tests. ``python -m benchmarks.<name> --help``; results go to BENCHMARKS.md.
"""

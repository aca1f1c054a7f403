"""Experiment scripts, one per lecture topic; ``python -m experiments.run_all`` runs them all."""

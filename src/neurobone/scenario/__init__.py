"""Scenario files: schema, exercise dosing, compilation to plans, running."""

"""Calibration targets and fitting."""

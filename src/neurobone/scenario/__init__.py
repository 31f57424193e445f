"""Scenarios: files (schema, populations), subjects from covariates, plans, runs."""

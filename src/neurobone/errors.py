"""Exceptions that carry a message meant for the user (the CLI prints it on one line)."""


class NeuroboneError(Exception):
    """Base class: a problem the user can fix; its message names it and the valid choices."""


class ModelError(NeuroboneError):
    """A model definition or a reference to a model element is invalid."""


class InputError(NeuroboneError):
    """Bad user input: unknown names, malformed values, invalid scenario files."""


class SolverError(NeuroboneError):
    """The ODE solver failed; the message says at which day and why."""

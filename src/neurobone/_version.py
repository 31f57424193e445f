"""The package version (one home; ``neurobone.__version__`` reads it)."""

__version__ = "0.1.0"

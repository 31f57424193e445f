"""neurobone: exercise -> brain -> bone."""
__version__ = "0.1.0"

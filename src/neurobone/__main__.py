"""``python -m neurobone``: the same command line as the ``neurobone`` script."""

from neurobone.cli import main

if __name__ == "__main__":
    main()

"""``python -m neurobone``: the command line (:mod:`neurobone.cli`)."""

from neurobone.cli import main

if __name__ == "__main__":
    main()

"""``python -m rdsc``: the command line (:mod:`rdsc.cli`); ``python -m rdsc --help``."""
import sys

from rdsc.cli import main

if __name__ == "__main__":
    sys.exit(main())

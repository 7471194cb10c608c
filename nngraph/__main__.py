"""``python -m nngraph``: the command line (see ``nngraph.cli``)."""

import sys

from nngraph.cli import main

if __name__ == "__main__":
    sys.exit(main())

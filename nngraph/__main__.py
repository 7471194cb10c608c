"""``python -m nngraph``: the command line (see ``nngraph.cli``)."""

import sys

from nngraph.cli import main

sys.exit(main())

"""``python -m chronolog_ctypes``: the command-line tool."""

import sys

from chronolog_ctypes.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m minidecnn``: the same command line as the ``minidecnn`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

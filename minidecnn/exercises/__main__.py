"""``python -m minidecnn.exercises EXERCISE FILE``: the same as ``minidecnn check``."""

from . import main

raise SystemExit(main())

"""``python -m nmfkit``: the same as the ``nmfkit`` command."""

from nmfkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

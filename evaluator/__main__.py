"""`python -m evaluator` is the `taskeval` command."""

from evaluator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

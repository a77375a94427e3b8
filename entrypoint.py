"""What the Action's image runs (action.yml, Dockerfile): the Action itself lives in evaluator/action/."""

import sys

from evaluator.action.main import main

if __name__ == "__main__":
    sys.exit(main())

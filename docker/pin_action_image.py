"""Point action.yml at a prebuilt image: `runs.image: docker://IMAGE@sha256:DIGEST` (the release workflow runs this
on the release commit, so `uses: org/taskeval-action@v1` pulls the image instead of building it).

    python docker/pin_action_image.py ghcr.io/org/taskeval-action@sha256:0123...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ACTION = Path(__file__).resolve().parent.parent / "action.yml"
IMAGE = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")
RUNS_IMAGE = re.compile(r"^  image: .+$", re.MULTILINE)


def pin(action_text: str, image: str) -> str:
    """action.yml's text with `runs.image` replaced by the digest-pinned image."""
    if not IMAGE.match(image):
        raise ValueError(f"not a digest-pinned image reference: {image!r} (want registry/owner/name@sha256:<64 hex>)")
    if len(RUNS_IMAGE.findall(action_text)) != 1:
        raise ValueError("action.yml must have exactly one `  image:` line under `runs:`")
    return RUNS_IMAGE.sub(f"  image: docker://{image}", action_text)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    ACTION.write_text(pin(ACTION.read_text(encoding="utf-8"), argv[0]), encoding="utf-8")
    print(f"action.yml runs {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

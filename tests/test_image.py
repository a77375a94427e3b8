"""The Action image's pins, checked without Docker: every package pinned exactly, the pins within pyproject's
ranges, the test environment running the pinned versions, and no pinned library whose torch floor is above the
image's torch (transformers declares that floor only in its extras, so pip cannot catch it)."""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("replay_install", ROOT / "docker" / "replay_install.py")
assert spec is not None and spec.loader is not None
replay_install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(replay_install)
PINS: dict[str, str] = replay_install.read_pins()
IMAGE_TORCH = Version(PINS["torch"])


def torch_floor_violations(image_torch: Version, packages: dict[str, list[str]]) -> list[str]:
    """Each package whose requirement on torch (plain, or through its `torch` extra) the image's torch fails."""
    found = []
    for package, requirements in packages.items():
        for text in requirements:
            requirement = Requirement(text)
            if requirement.name != "torch":
                continue
            marker = requirement.marker
            applies = marker is None or marker.evaluate({"extra": ""}) or marker.evaluate({"extra": "torch"})
            if applies and not requirement.specifier.contains(image_torch.base_version, prereleases=True):
                found.append(f"{package} needs {requirement}, the image has torch {image_torch}")
    return found


def installed_requirements() -> dict[str, list[str]]:
    return {name: metadata.requires(name) or [] for name in PINS if name != "torch" and _installed(name)}


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_every_line_is_an_exact_pin_and_torch_is_the_cuda_12_build() -> None:
    assert len(PINS) > 40
    assert PINS["torch"].endswith("+cu126")
    for name in ("transformers", "peft", "accelerate", "bitsandbytes", "openai", "PyGithub".lower(), "scipy"):
        assert name in PINS, f"{name} is not pinned"
    text = (ROOT / "docker" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cu126" in text


def test_read_pins_refuses_a_range(tmp_path: Path) -> None:
    loose = tmp_path / "requirements.txt"
    loose.write_text("transformers>=5\n")
    with pytest.raises(ValueError, match="not an exact pin"):
        replay_install.read_pins(loose)


def test_pyproject_ranges_admit_exactly_what_is_pinned() -> None:
    declared = [Requirement(text) for text in metadata.requires("taskeval") or []]
    runtime = [r for r in declared if r.marker is None or r.marker.evaluate({"extra": "gpu"})]
    assert {"torch", "transformers", "bitsandbytes"} <= {r.name for r in runtime}
    for requirement in runtime:
        pinned = PINS[requirement.name.lower()].split("+")[0]
        assert requirement.specifier.contains(pinned), f"pyproject's {requirement} excludes the pinned {pinned}"


def test_the_tests_run_the_pinned_versions() -> None:
    for name in ("transformers", "peft", "tokenizers", "safetensors", "openai", "jsonschema", "scipy", "pyyaml",
                 "pygithub", "tqdm"):
        assert metadata.version(name) == PINS[name], f"{name}: installed {metadata.version(name)}, pinned " \
            f"{PINS[name]}; install with `make install` (it applies docker/requirements.txt)"
    assert Version(metadata.version("torch")).base_version == IMAGE_TORCH.base_version


def test_no_pinned_library_has_a_torch_floor_above_the_image_torch() -> None:
    packages = installed_requirements()
    assert "transformers" in packages and "peft" in packages
    assert torch_floor_violations(IMAGE_TORCH, packages) == []


def test_the_floor_check_catches_the_old_image() -> None:
    """The regression this guards against: transformers 5.24 on the old base image's torch 2.5.1."""
    transformers = {"transformers": metadata.requires("transformers") or []}
    assert Version(metadata.version("transformers")) >= Version("5.19")
    (violation,) = torch_floor_violations(Version("2.5.1"), transformers)
    assert "transformers needs torch>=2.6" in violation


def test_dockerfile_installs_from_the_pins_and_checks_the_install() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r /opt/taskeval/docker/requirements.txt" in text
    assert "pip check" in text and "is_torch_available" in text
    assert text.index("COPY docker/requirements.txt") < text.index("COPY evaluator")  # layer caching


def test_a_release_points_action_yml_at_the_image_by_digest() -> None:
    pin_spec = importlib.util.spec_from_file_location("pin_action_image", ROOT / "docker" / "pin_action_image.py")
    assert pin_spec is not None and pin_spec.loader is not None
    pin_action_image = importlib.util.module_from_spec(pin_spec)
    pin_spec.loader.exec_module(pin_action_image)
    digest = "ab" * 32
    text = pin_action_image.pin((ROOT / "action.yml").read_text(), f"ghcr.io/org/taskeval-action@sha256:{digest}")
    assert f"  image: docker://ghcr.io/org/taskeval-action@sha256:{digest}\n" in text
    assert "image: Dockerfile" not in text
    with pytest.raises(ValueError, match="digest-pinned"):
        pin_action_image.pin(text, "ghcr.io/org/taskeval-action:latest")
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "docker/pin_action_image.py" in release and "packages: write" in release

"""Registries: the one list of names per kind, with lazy entries that a name check does not import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.core.registry import Registry
from tests.helpers import EXAMPLES, ROOT


def test_a_lazy_entry_is_imported_on_first_use_only() -> None:
    """With a module nothing else imports (a stand-in written for this test): checking the name does not import
    it, the first `get` does."""
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "lazy_probe_module.py").write_text("class Probe:\n    pass\n")
        sys.path.insert(0, folder)
        try:
            registry: Registry[object] = Registry("thing")
            registry.add_lazy("path", "lazy_probe_module:Probe")
            assert "path" in registry and registry.names() == ["path"]
            registry.check("path")
            assert "lazy_probe_module" not in sys.modules
            registry.add("eager", object())
            probe = registry.get("path")
            assert "lazy_probe_module" in sys.modules and probe is sys.modules["lazy_probe_module"].Probe
            assert registry.names() == ["path", "eager"]  # resolving a lazy entry keeps the order (the JSON Schema)
        finally:
            sys.path.remove(folder)
            sys.modules.pop("lazy_probe_module", None)
    with pytest.raises(TaskevalError, match="unknown thing 'pth'") as raised:
        registry.check("pth", "config.yaml")
    assert raised.value.hint == "did you mean 'path'?"
    with pytest.raises(ValueError, match="registered twice"):
        registry.add_lazy("path", "x:y")


def test_validate_checks_backend_names_without_importing_the_backends() -> None:
    code = ("import sys; from evaluator.cli import main; "
            f"main(['validate', '--config', {str(EXAMPLES / 'config.yaml')!r}]); "
            "print(sorted(m for m in sys.modules if m.startswith(('evaluator.generation.huggingface', "
            "'evaluator.generation.served', 'torch', 'openai'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.stdout.strip().endswith("[]"), done.stdout + done.stderr


def test_unknown_backend_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    from evaluator.inputs.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("generation:\n  backend: hf\n")
    with pytest.raises(TaskevalError, match="generation.backend: unknown generation backend 'hf'"):
        load_config(path)

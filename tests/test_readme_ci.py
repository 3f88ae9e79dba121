"""The README's commands are the ones CI runs."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_readme_opens_with_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) >= 2
    install_and_run, install_and_test = commands[0], commands[1]
    assert "pip install ." in install_and_run
    assert 'pip install ".[test]"' in install_and_test and "pytest" in install_and_test


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _readme_commands()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"'{test_command}'" in ci


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's Python example runs, and its hand-made backward pass equals the map."""
    from minidecnn.demo_model import demo_weights_path

    if not demo_weights_path().is_file():
        if os.environ.get("MINIDECNN_REQUIRE_OPTIONAL") == "1":
            raise AssertionError("the README example needs the shipped demo model weights")
        pytest.skip("the shipped demo model weights are not installed")
    text = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert examples, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    for code in examples:
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["maps"].shape == namespace["x"].shape
    np.testing.assert_allclose(namespace["by_hand"], namespace["maps"], atol=1e-6)


def test_readme_links_exist():
    text = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (ROOT / target).exists(), f"README.md: broken link {target}"

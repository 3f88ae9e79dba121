"""The README's commands are the ones CI runs."""

import re
from pathlib import Path

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

"""The README's Python snippets run as they are written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_has_its_testing_snippet():
    blocks = python_blocks(README.read_text())
    assert any("def test_" in block and "orderdesk" in block for block in blocks)


def test_the_readmes_pytest_snippets_pass_as_written(tmp_path):
    blocks = [block for block in python_blocks(README.read_text()) if "def test_" in block]
    for index, block in enumerate(blocks):
        (tmp_path / f"test_readme_{index}.py").write_text(block)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = sum(len(re.findall(r"^def test_", block, flags=re.MULTILINE)) for block in blocks)
    assert f"{expected} passed" in result.stdout

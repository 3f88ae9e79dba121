"""Every docs code block meant to run does, and the docs hang together.

Fences in ``docs/*.md``:

* ```` ```python ```` runs: the blocks of one page run in order, in one namespace, in a
  fresh temporary folder (so files a page writes land there);
* ```` ```python no-run ```` is shown, not run (it needs a file the reader has, such as
  the published VGG16 weights, or real Keras);
* ```` ```python file=NAME.py ```` is the content of a file: it is written to ``NAME.py``
  in the temporary folder (the exercises' worked answers, which the page then grades);
* ```` ```bash ```` and ```` ```text ```` are shown, not run.

A page whose runnable code loads the shipped demo model is skipped when the weights
are not installed (and fails in CI, where ``MINIDECNN_REQUIRE_OPTIONAL=1``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(page: Path):
    """``(language, options, code, line)`` for every fenced block of ``page``."""
    text = page.read_text()
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        yield m.group(1), m.group(2).strip(), m.group(3), line


def runnable(page: Path):
    for lang, options, code, line in blocks(page):
        if lang == "python" and "no-run" not in options:
            yield options, code, line


def test_there_are_pages():
    names = {p.name for p in PAGES}
    for required in (
        "README.md",
        "getting-started.md",
        "conventions.md",
        "keras.md",
        "training.md",
        "exercises.md",
    ):
        assert required in names


def test_every_fence_is_labelled():
    allowed = {"python", "bash", "text"}
    for page in PAGES:
        for lang, options, _, line in blocks(page):
            assert lang in allowed, f"{page.name}:{line}: fence language {lang!r}"
            if lang == "python" and options:
                assert options == "no-run" or re.fullmatch(r"file=[\w.]+\.py", options), (
                    f"{page.name}:{line}: unknown fence option {options!r}"
                )


def pages_with_code():
    return [p for p in PAGES if any(not options for options, _, _ in runnable(p))]


def test_most_pages_have_code():
    assert len(pages_with_code()) >= len(PAGES) - 1  # the index has none


@pytest.mark.parametrize("page", pages_with_code(), ids=lambda p: p.name)
def test_page_code_runs(page, tmp_path, monkeypatch):
    code_blocks = list(runnable(page))
    if any("load_demo_model(" in code for _, code, _ in code_blocks):
        from minidecnn.demo_model import demo_weights_path

        if not demo_weights_path().is_file():
            if os.environ.get("MINIDECNN_REQUIRE_OPTIONAL") == "1":
                raise AssertionError(f"{page.name} needs the shipped demo model weights")
            pytest.skip("the shipped demo model weights are not installed")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for options, code, line in code_blocks:
        if options.startswith("file="):
            (tmp_path / options[len("file=") :]).write_text(code)
            continue
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(
                f"{page.name}, the block at line {line} failed:\n{code}\n"
                f"output so far:\n{out.getvalue()}"
            ) from exc
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")


def _links(page: Path):
    text = FENCE.sub("", page.read_text())
    return re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_local_links_and_images_exist(page):
    for target in _links(page):
        if re.match(r"[a-z]+://", target):
            continue
        assert (page.parent / target).resolve().exists(), f"{page.name}: broken link {target}"


def load_make_figures():
    """docs/make_figures.py as a module (docs/ is a folder of pages, not a package)."""
    spec = importlib.util.spec_from_file_location("docs_make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up here
    spec.loader.exec_module(module)
    return module


def test_every_figure_is_used_and_every_used_figure_is_made():
    make_figures = load_make_figures()
    made = set(make_figures.FIGURES)
    used = set()
    for page in PAGES:
        used |= {Path(t).name for t in _links(page) if t.startswith("figures/")}
    assert used == {f"{name}.png" for name in made}
    for name in made:
        assert (DOCS / "figures" / f"{name}.png").is_file()


def test_every_layer_and_method_has_a_section():
    import minidecnn.explain as explain
    import minidecnn.layers as layers

    text = "\n".join(p.read_text() for p in PAGES)
    for name in layers.__all__:
        if name in ("RULES", "Layer"):
            continue
        assert f"`{name}`" in text, f"no docs mention the layer {name}"
    headings = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for name in (
        "gradient",
        "deconvnet",
        "guided_backprop",
        "gradient_x_input",
        "integrated_gradients",
        "smoothgrad",
        "grad_cam",
        "guided_grad_cam",
        "occlusion",
        "top_projections",
    ):
        assert hasattr(explain, name)
        assert f"`{name}`" in headings or f"{name}(" in headings, f"no heading for {name}"


@pytest.mark.slow
def test_figures_script_runs_in_quick_mode(tmp_path):
    make_figures = load_make_figures()
    written = make_figures.main(["--quick", "--out", str(tmp_path)])
    assert sorted(p.name for p in written) == sorted(f"{n}.png" for n in make_figures.FIGURES)
    for path in written:
        assert path.stat().st_size > 1000

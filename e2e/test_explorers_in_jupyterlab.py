"""The explorers as a student sees them: a real JupyterLab, a real Chromium.

The widget unit tests (tests/test_temperature_explorer.py, tests/test_palette_explorer.py) drive the
Python side. They cannot show that JupyterLab 4 and the ipywidgets 8 front end render the
explorer and send a dragged slider back to the kernel. These tests do:

1. start JupyterLab on 127.0.0.1 with a random token, in a temporary folder holding a copy of
   the solution notebook (the copy takes the autosaves, never solutions/), with its own
   Jupyter config, data and runtime folders;
2. open the notebook in headless Chromium (Debian's ``chromium`` package, driven by
   Playwright for Python through ``executable_path``: no browser download) and run all cells
   from the Run menu, as a student would;
3. drag the slider with the mouse and check that the colorization the page shows changes
   (the image bytes in the browser) and that no error appears; upload a photo file to notebook
   05's your-photo widget and download its colorization, as a student clicks the link.

Screenshots go to ``$COLORLAB_E2E_SCREENSHOTS`` (default: ``e2e/screenshots/``).
Where Chromium or Playwright is missing the tests skip with a message naming what to install;
with ``COLORLAB_E2E_REQUIRED=1`` (set by .ci/run) they fail instead.

They run last (pytest's testpaths), after the solution notebooks have filled the model cache,
so the notebooks mostly load trained models; on a cold cache they train, within the
notebooks' budgets.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
SCREENSHOTS = Path(os.environ.get("COLORLAB_E2E_SCREENSHOTS", REPO / "e2e" / "screenshots"))
REQUIRED = os.environ.get("COLORLAB_E2E_REQUIRED", "") not in ("", "0")
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
NOTEBOOK_TIMEOUT_S = 600  # running a whole solution notebook: about 2 minutes on a cold cache, 2-core CPU
WIDGET_TIMEOUT_S = 30  # one redraw after a slider move: well under a second, plus the round trip

pytestmark = pytest.mark.slow


def _missing(message: str):
    if REQUIRED:
        pytest.fail(message + " (COLORLAB_E2E_REQUIRED is set, so this is a failure, not a skip)")
    pytest.skip(message)


def _chromium() -> str:
    override = os.environ.get("COLORLAB_CHROMIUM")
    if override:
        if not Path(override).is_file():
            _missing(f"COLORLAB_CHROMIUM={override} is not a file; point it at a Chromium binary")
        return override
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    _missing("Chromium is not installed: install Debian's package `chromium` "
             "(sudo apt-get install chromium), or set COLORLAB_CHROMIUM to a Chromium binary")


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed: pip install -e '.[e2e]' (or pip install playwright); "
                 "no browser download is needed, the tests use the system Chromium")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(config_dir: Path) -> None:
    """JupyterLab user settings for a test: every cell in the DOM, no news toasts over the page."""
    settings = {
        # "none": all cells stay in the DOM, so the page can be searched for outputs and errors
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for relative, value in settings.items():
        path = config_dir / "lab" / "user-settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 in a temporary folder; stop() removes everything it made."""

    def __init__(self, notebooks: list[Path]):
        self.home = Path(tempfile.mkdtemp(prefix="colorlab-e2e-"))
        self.root = self.home / "notebooks"
        self.root.mkdir()
        for notebook in notebooks:
            shutil.copy(notebook, self.root / notebook.name)
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = self.home / "config"
        _write_settings(config)
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), IPYTHONDIR=str(self.home / "ipython"),
            JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        # The kernel inherits COLORLAB_CACHE (models the solutions trained) and COLORLAB_DATA.
        if "COLORLAB_DATA" not in env and (REPO / "data").is_dir():
            env["COLORLAB_DATA"] = str(REPO / "data")
        self.log_path = self.home / "server.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",  # nothing reaches the internet
             *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
            cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: stop() also ends the kernels it started
        try:
            self._wait_until_up(timeout_s=90)
        except BaseException:
            self.stop()  # the caller never gets the object, so nothing else would clean up
            raise

    def _wait_until_up(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout_s:.0f} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return "(the server log is gone)"

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        finally:
            self._log.close()
            shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    sync_playwright = _playwright()
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. Playwright gives
        # the browser a temporary profile and removes it when the browser closes.
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab():
    servers = []

    def start(*notebooks) -> JupyterLab:  # names in solutions/, or paths
        server = JupyterLab([SOLUTIONS / name if isinstance(name, str) else name for name in notebooks])
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


class Page:
    """A JupyterLab page with the notebook open; what a student clicks, and what they see."""

    def __init__(self, browser, lab: JupyterLab, notebook: str):
        self.lab, self.notebook = lab, notebook
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.goto(lab.notebook_url(notebook))
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        self._wait_for_kernel_idle(timeout_s=60)

    def close(self) -> None:
        self.context.close()

    def screenshot(self, name: str, element=None) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{Path(self.notebook).stem}-{name}.png"
        (element or self.page).screenshot(path=str(path))
        return path

    def _kernel_status(self) -> str:
        # The toolbar's kernel status icon carries the status in its title, e.g. "Kernel Idle".
        indicator = self.page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        if indicator.count():
            return (indicator.first.get_attribute("data-status") or "").lower()
        return ""

    def _wait_for_kernel_idle(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._kernel_status() == "idle":
                return
            time.sleep(0.5)
        raise AssertionError(f"the kernel of {self.notebook} was not idle within {timeout_s:.0f} s "
                             f"(status {self._kernel_status()!r}); server log:\n{self.lab.log()}")

    def errors_shown(self) -> list[str]:
        """Tracebacks in the cell outputs and widgets that failed to render, as the page shows them."""
        texts = self.page.locator(".jp-OutputArea-output").all_inner_texts()
        shown = [t for t in texts if "Traceback (most recent call last)" in t or "Error displaying widget" in t]
        return [t[-3000:] for t in shown]

    def _click_run_all(self) -> None:
        """Run > Run All Cells. The item is disabled until the notebook is the current widget, so
        focus the notebook first and retry while the menu shows it disabled."""
        deadline = time.monotonic() + 30
        while True:
            self.page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
            self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            item = self.page.locator(".lm-Menu-item", has=self.page.locator(
                ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).first
            item.wait_for(timeout=10_000)
            if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
                item.click()
                return
            self.page.keyboard.press("Escape")
            if time.monotonic() > deadline:
                self.screenshot("run-all-disabled")
                raise AssertionError("Run > Run All Cells stayed disabled for 30 s: JupyterLab did not make "
                                     f"{self.notebook} the current notebook")
            time.sleep(1.0)

    def _prompts(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]

    def _started(self, timeout_s: float) -> bool:
        """Whether some cell is queued, running or done ("[*]:" or "[n]:") within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(t != "[ ]:" for t in self._prompts()):
                return True
            time.sleep(0.25)
        return False

    def run_all_cells(self) -> None:
        """Run > Run All Cells, then wait until every code cell has run and none is queued or running."""
        # Now and then the menu closes without running anything (the click lands while JupyterLab is still
        # settling the page): nothing is queued then, so clicking again cannot run a cell twice.
        for _ in range(3):
            self._click_run_all()
            if self._started(timeout_s=10):
                break
        else:
            self.screenshot("nothing-ran")
            raise AssertionError(f"Run > Run All Cells ran nothing in {self.notebook}, three times in a row")
        deadline = time.monotonic() + NOTEBOOK_TIMEOUT_S
        texts: list[str] = []
        while time.monotonic() < deadline:
            errors = self.errors_shown()
            assert not errors, f"{self.notebook} failed in the browser:\n" + "\n---\n".join(errors)
            texts = self._prompts()
            if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts):
                return
            time.sleep(1.0)
        self.screenshot("timeout")
        raise AssertionError(f"{self.notebook} did not finish within {NOTEBOOK_TIMEOUT_S} s in the browser; "
                             f"prompts: {texts[:40]}")

    def widget_with_slider(self, description: str):
        """The output area of the explorer: the output holding a slider labelled ``description``."""
        slider = self.page.locator(".widget-slider", has=self.page.locator(
            ".widget-label", has_text=re.compile(rf"^{re.escape(description)}$")))
        slider.first.wait_for(timeout=WIDGET_TIMEOUT_S * 1000)
        output = self.page.locator(".jp-OutputArea-output", has=slider)
        assert output.count() == 1, f"expected one explorer with a {description!r} slider, found {output.count()}"
        return output.first, slider.first

    def drag(self, slider, fraction: float) -> None:
        """Drag the slider's handle by ``fraction`` of the track's width (negative: to the left)."""
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target").first
        handle.scroll_into_view_if_needed()
        h, t = handle.bounding_box(), track.bounding_box()
        x, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + fraction * t["width"], y, steps=12)
        self.page.mouse.up()

    def image_bytes(self, image) -> bytes:
        """The bytes of an <img> as the browser holds them (ipywidgets 8 serves them from a blob: URL)."""
        encoded = image.evaluate("""async (img) => {
            const buffer = await (await fetch(img.src)).arrayBuffer();
            let text = '';
            const bytes = new Uint8Array(buffer);
            for (let i = 0; i < bytes.length; i += 0x8000) {
                text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
            }
            return btoa(text);
        }""")
        return base64.b64decode(encoded)

    def wait_for_new_image(self, image, old_src: str) -> None:
        deadline = time.monotonic() + WIDGET_TIMEOUT_S
        while time.monotonic() < deadline:
            if image.get_attribute("src") != old_src:
                return
            time.sleep(0.2)
        raise AssertionError(f"the explorer's image did not change within {WIDGET_TIMEOUT_S} s of moving the slider")


    def wait_for_text(self, element, text: str) -> None:
        deadline = time.monotonic() + WIDGET_TIMEOUT_S
        while time.monotonic() < deadline:
            if text in element.inner_text():
                return
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear in the explorer within {WIDGET_TIMEOUT_S} s; it shows:\n"
                             f"{element.inner_text()[:1500]}")


def _decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"the explorer's image is not a PNG: starts with {data[:8]!r}"
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _mean_a(rgb_uint8: np.ndarray) -> float:
    from skimage.color import rgb2lab

    return float(rgb2lab(rgb_uint8 / 255.0)[..., 1].mean())


@pytest.fixture
def open_notebook(browser, lab):
    pages = []

    def open_(notebook) -> Page:  # a name in solutions/, or a path
        page = Page(browser, lab(notebook), Path(notebook).name)
        pages.append(page)
        return page

    try:
        yield open_
    finally:
        for page in pages:
            page.close()


def _no_errors(page: Page) -> None:
    errors = page.errors_shown()
    assert not errors, f"{page.notebook}: the page shows an error:\n" + "\n---\n".join(errors)
    assert not page.page_errors, f"{page.notebook}: uncaught errors in the page: {page.page_errors}"


@pytest.fixture(scope="module")
def classification_notebook(browser):
    """Notebook 05 open in JupyterLab with every cell run, once for the tests of its two widgets."""
    lab = JupyterLab([SOLUTIONS / "05_classification.ipynb"])
    page = None
    try:
        page = Page(browser, lab, "05_classification.ipynb")
        page.run_all_cells()
        page.screenshot("notebook-after-run-all")
        yield page
    finally:
        if page is not None:
            page.close()
        lab.stop()


def test_temperature_explorer_redraws_when_the_slider_is_dragged(classification_notebook):
    page = classification_notebook
    explorer, slider = page.widget_with_slider("T")
    readout = slider.locator(".widget-readout").first
    before_t = readout.inner_text().strip()
    colorization = explorer.locator("img").first  # the colorization (beside the truth) comes first
    colorization.scroll_into_view_if_needed()
    old_src = colorization.get_attribute("src")
    before = page.image_bytes(colorization)
    page.screenshot("explorer-before", explorer)

    page.drag(slider, +1.0)  # to the right end: T = 1, the mean

    page.wait_for_new_image(colorization, old_src)
    after = page.image_bytes(colorization)
    after_t = readout.inner_text().strip()
    page.screenshot("explorer-after", explorer)
    assert after_t != before_t and float(after_t) > float(before_t), (
        f"dragging the T slider right should raise T; the readout went from {before_t} to {after_t}")
    assert after != before, "the colorization's bytes did not change when T moved"
    # the status line is written last in a redraw: the kernel's callback ran to its end at the new T
    page.wait_for_text(explorer, f"T = {float(after_t):.3f}")
    before_rgb, after_rgb = _decode_png(before), _decode_png(after)
    assert before_rgb.shape == after_rgb.shape
    assert np.abs(before_rgb.astype(int) - after_rgb.astype(int)).max() > 0, "the decoded pixels did not change"
    _no_errors(page)


def test_your_photo_upload_is_colorized_at_full_resolution(classification_notebook, tmp_path):
    from colorlab.data import load_photo
    from colorlab.files import save_png

    page = classification_notebook
    photo = load_photo("coffee")  # 600 x 400; the notebook starts the widget on another photo
    path = save_png(photo, tmp_path / "my coffee.png")
    result = page.page.locator("img.colorlab-your-photo-result")
    result.first.wait_for(timeout=WIDGET_TIMEOUT_S * 1000)
    widget = page.page.locator(".jp-OutputArea-output", has=result)
    assert widget.count() == 1, f"expected one your-photo widget, found {widget.count()}"
    widget, result = widget.first, result.first
    widget.scroll_into_view_if_needed()
    old_src = result.get_attribute("src") or ""

    # The upload button opens the browser's file chooser (its <input type=file> is not in the page): choose the file
    with page.page.expect_file_chooser(timeout=WIDGET_TIMEOUT_S * 1000) as chooser:
        widget.locator("button.widget-upload").first.click()
    chooser.value.set_files(str(path))

    page.wait_for_new_image(result, old_src)
    page.wait_for_text(widget, "my coffee.png: 600 x 400 px, colorized at T = 0.380")
    page.screenshot("your-photo", widget)
    preview = _decode_png(page.image_bytes(result))
    assert max(preview.shape[:2]) <= 400 and preview.shape[1] > preview.shape[0], (
        f"the preview should be the photo, landscape and at most its own size; it is {preview.shape}")
    link = widget.locator("a[download]").first
    assert link.get_attribute("download") == "my coffee_color.png"
    with page.page.expect_download(timeout=WIDGET_TIMEOUT_S * 1000) as download:
        link.click()  # a student's click on the link: the browser saves the full-resolution PNG
    saved = _decode_png(Path(download.value.path()).read_bytes())
    assert saved.shape == photo.shape, f"the download is {saved.shape}, the photo {photo.shape}"
    assert np.abs(saved.astype(int) - photo.astype(int)).max() > 0  # colorized, not the photo sent back

    # the same distributions at T = 1: the picture changes, the download follows
    old_src = result.get_attribute("src")
    widget.locator("button", has_text=re.compile(r"^mean \(T=1\)$")).first.click()
    page.wait_for_new_image(result, old_src)
    page.wait_for_text(widget, "colorized at T = 1.000")
    _no_errors(page)


def test_palette_explorer_push_towards_red_raises_mean_a(open_notebook):
    from colorlab.explorers.palette import _GAP, _HEADER

    page = open_notebook("06_palettes.ipynb")
    page.run_all_cells()
    explorer, strength = page.widget_with_slider("strength")
    page.screenshot("notebook-after-run-all")
    explorer.locator("button", has_text=re.compile(r"^red$")).first.click()
    colorization = explorer.locator("img").first  # gray | estimated palette | edited palette | truth
    colorization.scroll_into_view_if_needed()
    old_src = colorization.get_attribute("src")
    before = _decode_png(page.image_bytes(colorization))
    page.screenshot("explorer-before", explorer)

    page.drag(strength, +0.6)  # strength 0 -> about 0.6, towards red

    page.wait_for_new_image(colorization, old_src)
    after = _decode_png(page.image_bytes(colorization))
    page.screenshot("explorer-after", explorer)
    readout = strength.locator(".widget-readout").first.inner_text().strip()
    assert float(readout) > 0.3, f"dragging the strength slider right should raise it; it reads {readout}"
    page.wait_for_text(explorer, f"strength {float(readout):.2f}")  # the redraw's last step, the status line

    # The third panel is the edited-palette result; the others do not depend on the push.
    width = (after.shape[1] - 3 * _GAP) // 4
    x0 = 2 * (width + _GAP)
    edited_before = before[_HEADER:, x0:x0 + width]
    edited_after = after[_HEADER:, x0:x0 + width]
    a_before, a_after = _mean_a(edited_before), _mean_a(edited_after)
    assert a_after > a_before + 1.0, (
        f"pushing the palette towards red should raise the shown image's mean a; it went {a_before:.2f} -> {a_after:.2f}")
    _no_errors(page)


def test_an_error_in_a_cell_is_reported(open_notebook, tmp_path):
    # The checks above would pass vacuously if errors_shown() missed what JupyterLab shows; here it must see one.
    import nbformat

    notebook = tmp_path / "broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("assert x == 2, 'the check this test expects to fail'"),
        nbformat.v4.new_code_cell("y = 3"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}),
        notebook)
    page = open_notebook(notebook)
    with pytest.raises(AssertionError, match="the check this test expects to fail"):
        page.run_all_cells()
    page.screenshot("error-shown")

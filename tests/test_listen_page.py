"""The listening page docs/listen/index.html, used as a person would: headless Chromium loads it
(skips without Chromium), every audio file it plays exists, decodes and is as long as the page
says, and a screenshot is saved to out/listen_page.png for a person to look at."""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import soundfile as sf

from conftest import ROOT

PAGE = ROOT / "docs" / "listen" / "index.html"
SCREENSHOT = ROOT / "out" / "listen_page.png"
BUDGET_AUDIO, BUDGET_IMAGES, BUDGET_ALL = 8_000_000, 2_000_000, 10_000_000


def chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: chromium)")


class Elements(HTMLParser):
    """The page's <audio>, <img>, <script>, <link> and remote references."""

    def __init__(self):
        super().__init__()
        self.audio, self.images, self.scripts, self.links = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "audio":
            self.audio.append(attrs)
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "script":
            self.scripts.append(attrs)
        elif tag == "link":
            self.links.append(attrs)


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--mute-audio", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args, PAGE.as_uri()]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def dom(tmp_path_factory) -> str:
    if not PAGE.is_file():
        pytest.fail(f"{PAGE} is missing: run python scripts/make_samples.py")
    result = run_chromium(tmp_path_factory.mktemp("chromium"), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<audio" in result.stdout, result.stderr[-2000:]
    return result.stdout


def test_every_audio_file_exists_decodes_and_has_the_stated_length(dom):
    page = Elements()
    page.feed(dom)
    clips = len(re.findall(r'<section class="clip"', dom))
    assert clips >= 6
    assert len(page.audio) == 13 * clips  # thirteen versions each: the original and 12 decoded
    sources = set()
    for audio in page.audio:
        src = audio["src"]
        assert "://" not in src and not src.startswith("/"), src  # local, relative
        path = PAGE.parent / src
        assert path.is_file(), src
        info = sf.info(path)
        assert info.format in ("FLAC", "WAV"), (src, info.format)  # lossless only
        assert info.samplerate == int(audio["data-rate"]) and info.channels == 1
        assert info.frames == int(audio["data-samples"]), src
        wav, _ = sf.read(path, dtype="float32")
        assert len(wav) == info.frames and abs(wav).max() > 0.01, src  # decodes, not silent
        sources.add(src)
    assert len(sources) == len(page.audio)
    # Each decoded version is as long as its clip's original.
    for src in sources:
        original = str(Path(src).parent / "original.flac")
        assert sf.info(PAGE.parent / src).frames == sf.info(PAGE.parent / original).frames


def test_page_is_self_contained_and_within_budget(dom):
    page = Elements()
    page.feed(dom)
    assert not page.scripts and not page.links  # plain HTML and CSS, no framework
    assert not re.search(r'(src|href)="(https?:)?//', dom)  # nothing fetched from elsewhere
    assert len(page.images) >= 6
    for img in page.images:
        assert (PAGE.parent / img["src"]).is_file(), img["src"]
    model_id = re.search(r'<code id="model-id">([0-9a-f]{16})</code>', dom)
    assert model_id, "the page names the model it was made from"
    files = [p for p in PAGE.parent.rglob("*") if p.is_file()]
    audio = sum(p.stat().st_size for p in files if p.suffix in (".flac", ".wav"))
    images = sum(p.stat().st_size for p in files if p.suffix in (".png", ".jpg"))
    assert audio <= BUDGET_AUDIO and images <= BUDGET_IMAGES
    assert sum(p.stat().st_size for p in files) <= BUDGET_ALL


def test_every_system_is_on_the_page(dom):
    for label in ("This codec", "Lyra v2", "Opus", "AMR-WB", "Codec 2"):
        assert label in dom, label
    assert "skipped" not in dom  # the committed page has every peer


def test_screenshot_at_1280(tmp_path):
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    result = run_chromium(tmp_path, f"--screenshot={SCREENSHOT}", "--window-size=1280,2400")
    assert result.returncode == 0, result.stderr[-2000:]
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000

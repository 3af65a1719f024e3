"""A real service on 127.0.0.1 and a real headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from ledger.chain.deployment import DeploymentRecord
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from tests.nodes import ChainNode
from tests.service import ServerThread, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Service:
    """The running service: its URL and the installation behind it."""

    url: str
    ledger: Ledger


@pytest.fixture
def service(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord) -> Iterator[Service]:
    """The whole service on a free port of 127.0.0.1."""
    settings, port = serve(tmp_path, chain_node.url, deployment)
    ledger = Ledger(settings)
    with ServerThread(ledger, port):
        yield Service(url=settings.public_base_url, ledger=ledger)
    ledger.close()


@pytest.fixture
def moci(service: Service) -> RegisteredAgency:
    """An agency with an issuer key."""
    registered = register_agency(service.ledger, "moci", "Ministry of Commerce and Industry", "وزارة التجارة والصناعة")
    add_issuer_key(service.ledger, "moci")
    return registered


def chromium_path() -> str:
    """Debian's Chromium (installed by `make test` when missing)."""
    return shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium."""
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page, phone-sized; its screenshot is kept as a test artefact."""
    context = browser.new_context(viewport={"width": 412, "height": 915}, device_scale_factor=1, locale="en-GB")
    opened = context.new_page()
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def y4m_video(png: bytes, path: Path, frames: int = 30) -> None:
    """A short Y4M clip of a still image, for Chromium's fake camera."""
    image = Image.open(io.BytesIO(png)).convert("L")
    side = (max(image.size) + 1) // 2 * 2 + 64  # even size with a white margin
    canvas = Image.new("L", (side, side), 255)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * ((side // 2) * (side // 2))
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            clip.write(b"FRAME\n" + luma + chroma + chroma)

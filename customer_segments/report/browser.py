"""Open a report in headless Chromium, as a reader would, and take its screenshot.

Used by the report's test and to refresh docs/report.png:

    python -m customer_segments.report.browser warehouse/report.html docs/report.png

Drives Debian's `/usr/bin/chromium` (or SEGMENTS_CHROMIUM) with Playwright for
Python; Playwright's own browser download (`playwright install`) is never
used, so nothing is fetched. Collects what a reader's browser would complain
about: console errors, uncaught page errors, requests that are not the file
itself (a report must need no network), and dialogs (an escaped `<script>`
must never run).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    return Path(os.environ.get("SEGMENTS_CHROMIUM", DEFAULT_CHROMIUM))


@dataclass
class PageCheck:
    """What the browser saw when it opened the page."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    #: section id -> its rendered (width, height), or None when it is missing or hidden
    sections: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    page_size: tuple[int, int] = (0, 0)
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"dialog opened: {m}" for m in self.dialogs]
            + [f"request outside the file: {u}" for u in self.outside_requests]
            + [f"section #{s} not visible" for s, box in self.sections.items() if box is None]
        )


def open_page(
    html_path: Path, screenshot_path: Path | None, section_ids: list[str], width: int = 1280, height: int = 900
) -> PageCheck:
    """Load the page from disk in headless Chromium, check its sections, screenshot the whole page."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if not executable.exists():
        raise FileNotFoundError(f"{executable} not found: apt-get install chromium (or set SEGMENTS_CHROMIUM)")
    url = Path(html_path).resolve().as_uri()
    check = PageCheck()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: check.page_errors.append(str(e)))
            page.on("request", lambda r: check.outside_requests.append(r.url) if r.url != url and not r.url.startswith("data:") else None)

            def on_dialog(dialog) -> None:
                check.dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(url, wait_until="load")
            for section_id in section_ids:
                locator = page.locator(f"#{section_id}")
                box = locator.bounding_box() if locator.count() == 1 and locator.is_visible() else None
                check.sections[section_id] = (box["width"], box["height"]) if box and box["height"] > 0 else None
            size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            check.page_size = (int(size[0]), int(size[1]))
            if screenshot_path is not None:
                screenshot_path = Path(screenshot_path)
                screenshot_path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot_path), full_page=True)
                check.screenshot = screenshot_path
        finally:
            browser.close()
    return check


def main(argv: list[str] | None = None) -> int:
    from customer_segments.report.render import SECTIONS

    options = argparse.ArgumentParser(description="Screenshot a segment report in headless Chromium.")
    options.add_argument("html", type=Path)
    options.add_argument("png", type=Path)
    options.add_argument("--width", type=int, default=1280)
    args = options.parse_args(argv)
    check = open_page(args.html, args.png, [section_id for section_id, _title in SECTIONS], width=args.width)
    for problem in check.problems:
        print(problem, file=sys.stderr)
    print(f"Wrote {args.png} ({check.page_size[0]}x{check.page_size[1]} CSS pixels).")
    return 1 if check.problems else 0


if __name__ == "__main__":
    sys.exit(main())

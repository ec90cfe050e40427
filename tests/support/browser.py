"""A real headless Chromium on a running dashboard, for end-to-end tests and the benchmark.

Debian's `chromium` and `chromium-driver` are used as installed: the driver path is given, so
selenium-manager never looks anything up. Elements are found the way a person finds them, by
the text of their labels and buttons (NiceGUI's `.mark()` names stay on the server).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

DIALOG: Final = "//div[contains(@class, 'q-dialog')]"
"""XPath of an open dialog, to press its buttons rather than the page's."""
CHROMIUM: Final = "/usr/bin/chromium"
CHROMEDRIVER: Final = "/usr/bin/chromedriver"
REPO: Final = Path(__file__).resolve().parents[2]
FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


def artifacts_dir(kind: str = "screenshots") -> Path:
    """Return (and make) the folder test artifacts go to: $EDGEWARD_ARTIFACTS or artifacts/."""
    root = Path(os.environ.get("EDGEWARD_ARTIFACTS") or REPO / "artifacts")
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_chromium(profile: Path, *, width: int = 1440, height: int = 1000) -> webdriver.Chrome:
    """Start headless Chromium with a fresh profile in `profile`."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def _literal(text: str) -> str:
    """Quote `text` for XPath."""
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + text.replace("'", "', \"'\", '") + "')"


class DashboardBrowser:
    """One browser on one dashboard: open pages, log in, press buttons, take screenshots."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, *, timeout: float = 15.0) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def wait(
        self, what: Callable[[webdriver.Chrome], object], timeout: float | None = None
    ) -> None:
        """Wait until `what(driver)` is truthy (stale elements count as not yet)."""
        WebDriverWait(
            self.driver,
            timeout or self.timeout,
            poll_frequency=0.05,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(what)

    def open(self, path: str) -> None:
        """Load `path` (the page's content arrives with it: NiceGUI renders on the server)."""
        self.driver.get(self.base_url + path)

    def path(self) -> str:
        """Return the path the browser shows now."""
        url: str = self.driver.current_url
        return "/" + url.removeprefix(self.base_url).lstrip("/")

    def visible(self, xpath: str) -> list[WebElement]:
        """Return the displayed elements matching `xpath`."""
        return [e for e in self.driver.find_elements(By.XPATH, xpath) if e.is_displayed()]

    def wait_for_text(self, text: str, timeout: float | None = None) -> WebElement:
        """Wait until an element whose own text contains `text` is displayed; return it."""
        xpath = f"//*[text()[contains(normalize-space(.), {_literal(text)})]]"
        self.wait(lambda _d: self.visible(xpath), timeout)
        return self.visible(xpath)[0]

    def field(self, label: str) -> WebElement:
        """Return the input (or text area) of the field labelled `label`."""
        xpath = (
            "//label[.//div[contains(@class, 'q-field__label')"
            f" and normalize-space(.)={_literal(label)}]]//*[self::input or self::textarea]"
        )
        self.wait(lambda _d: self.visible(xpath))
        return self.visible(xpath)[-1]

    def fill(self, label: str, text: str) -> None:
        """Type `text` into the field labelled `label`."""
        box = self.field(label)
        box.clear()
        box.send_keys(text)

    def button(self, label: str, *, within: str = "") -> WebElement:
        """Return the displayed button labelled `label` (inside `within`, an XPath, if given)."""
        xpath = f"{within}//button[.//span[normalize-space(.)={_literal(label)}]]"
        self.wait(lambda _d: [b for b in self.visible(xpath) if b.is_enabled()])
        return next(b for b in self.visible(xpath) if b.is_enabled())

    def press(self, label: str, *, within: str = "", attempts: int = 3) -> None:
        """Click the button labelled `label` (found again if a live refresh replaced it)."""
        for attempt in range(attempts):
            try:
                self.button(label, within=within).click()
                return
            except StaleElementReferenceException:
                if attempt == attempts - 1:
                    raise

    def log_in(self, name: str, password: str, *, then: str = "/") -> None:
        """Log in through the login page and wait until `then` is shown."""
        self.open(f"/login?next={then}")
        self.fill("Account name", name)
        self.fill("Password", password)
        self.press("Log in")
        self.wait(lambda _d: self.path() == then and self.visible("//header"))

    def screenshot(self, name: str, folder: Path) -> Path:
        """Save the whole page as `folder/name.png` once the page stopped changing."""
        self.settle()
        target = folder / f"{name}.png"
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1440, max(1000, min(int(height) + 40, 4000)))
        self.settle()
        if not self.driver.save_screenshot(str(target)):
            raise WebDriverException(f"no screenshot of {name}")
        self.driver.set_window_size(1440, 1000)
        return target

    def settle(self, quiet_s: float = 0.3, timeout: float = 5.0) -> None:
        """Wait until the page's HTML stays the same for `quiet_s` (charts drawn, data in)."""
        deadline = time.monotonic() + timeout
        last = self.driver.page_source
        while time.monotonic() < deadline:
            time.sleep(quiet_s)
            now = self.driver.page_source
            if now == last:
                return
            last = now

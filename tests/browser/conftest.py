"""A real headless Chromium (Debian's chromium and chromedriver) against the embedded
platform, and the people of the consoles: a police officer and a prosecutor with their
second factor, an oversight user and a provider."""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from embedded_runner import running_embedded
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from slice_driver import PASSWORD, unused_totp

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Site:
    base_url: str
    platform: object
    secrets: dict[str, str]
    isp_token: str

    def code(self, username: str) -> str:
        user = self.platform.apps["gateway"]._user(username)
        return unused_totp(self.secrets[username], user.last_totp_step)


class Browser:
    """One Chromium window; a fresh session per person (cookies cleared on log-in)."""

    def __init__(self, driver: webdriver.Chrome, site: Site):
        self.driver, self.site = driver, site

    def open(self, path: str) -> None:
        self.driver.get(self.site.base_url + path)

    def fill(self, fields: dict[str, str]) -> None:
        for name, value in fields.items():
            element = self.driver.find_element(By.NAME, name)
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            else:
                element.clear()
                element.send_keys(value)

    def press(self, button: WebElement | str) -> None:
        """Click (a button, or the one a CSS selector names) and wait for the next page."""
        if isinstance(button, str):
            button = self.driver.find_element(By.CSS_SELECTOR, button)
        page = self.driver.find_element(By.TAG_NAME, "html")
        button.click()

        def next_page_loaded(driver: webdriver.Chrome) -> bool:
            try:
                page.is_enabled()  # raises once the old document is gone
                return False
            except WebDriverException:  # stale, or "does not belong to the document"
                return driver.execute_script("return document.readyState") == "complete"

        WebDriverWait(self.driver, 10).until(next_page_loaded)

    def log_in(self, username: str) -> None:
        self.driver.delete_all_cookies()
        self.open("/login")
        fields = {"username": username, "password": PASSWORD}
        if username in self.site.secrets:
            fields["totp"] = self.site.code(username)
        self.fill(fields)
        self.press("form[action='/login'] button")

    def log_in_provider(self) -> None:
        self.driver.delete_all_cookies()
        self.open("/login")
        self.fill({"token": self.site.isp_token})
        self.press("form[action='/portal/login'] button")

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "main").text

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("CP247_INSECURE_COOKIES", "1")  # plain http on the loopback
    with running_embedded(tmp_path / "data") as (api, _, platform):
        identity, providers = platform.apps["gateway"], platform.apps["isp_liaison"]
        secrets = {}
        # Every person has a second factor, oversight too.
        for username, role in (("poe", "police"), ("pat", "prosecution"), ("ovi", "oversight")):
            identity.add_user(username, role, PASSWORD)
            uri = identity.enrol_second_factor(username)
            secrets[username] = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        providers.register_provider("telco-a", "Telco A", "RO")
        yield Site(api.base_url, platform, secrets, identity.issue_token(provider_id="telco-a"))


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser saves what an officer downloads."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def chromium(downloads: Path) -> Iterator[webdriver.Chrome]:
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver_path, "the browser tests need Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--force-dark-mode"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: webdriver.Chrome, site: Site) -> Browser:
    return Browser(chromium, site)

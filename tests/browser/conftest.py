"""The browser suite's fixtures: the product (`testkit/examples/browser_stack.rs`:
the emulator and the four functions under `cargo lambda watch`), the `*.test`
sites in front of it (`sites.py`), and Debian's headless Chromium driven by
Playwright (`executable_path=/usr/bin/chromium`; Playwright downloads no
browser). Each test gets a fresh browser context: its own cookie jar.

Screenshots of every page a person sees go to target/browser-screenshots/.
"""

import json
import os
import subprocess
import tempfile

import boto3
import pytest
from playwright.sync_api import expect, sync_playwright

from sites import ROOT, Sites

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(ROOT, "target", "browser-screenshots")
# Upper bounds for a loaded two-core machine, not delays: every wait ends as
# soon as its condition holds.
expect.set_options(timeout=30_000)


def start_stack(env=None):
    """Starts testkit/examples/browser_stack.rs (with `env` added to its
    environment: LOGOUT_SCOPE); (process, its description)."""
    log = tempfile.NamedTemporaryFile(prefix="browser-stack-", suffix=".log", delete=False)
    process = subprocess.Popen(
        ["cargo", "run", "-q", "-p", "testkit", "--example", "browser_stack"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, **(env or {})},
    )
    line = process.stdout.readline()
    if not line:
        process.wait()
        with open(log.name) as f:
            pytest.fail(f"browser_stack did not start:\n{f.read()[-4000:]}")
    return process, json.loads(line)


def stop_stack(process):
    process.stdin.close()  # it stops the functions and the emulator, then exits
    process.wait(timeout=60)


def launch(playwright, port):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            # Every *.test name is the front; nothing else resolves.
            f"--host-resolver-rules=MAP *.test 127.0.0.1:{port}, MAP * ~NOTFOUND",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


def new_context(browser):
    """A fresh profile's cookie jar; the sites' test certificate accepted."""
    c = browser.new_context(ignore_https_errors=True, locale="en-US")
    c.set_default_timeout(60_000)
    return c


@pytest.fixture(scope="session")
def stack():
    """The emulator and the functions, configured for the sites; its
    description (endpoints, pool, client, user)."""
    process, description = start_stack()
    yield description
    stop_stack(process)


@pytest.fixture(scope="session")
def sites(stack):
    s = Sites(stack["emulator"], stack["lambda"], stack["client_id"])
    s.port = s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance, sites):
    b = launch(playwright_instance, sites.port)
    yield b
    b.close()


@pytest.fixture
def context(browser):
    c = new_context(browser)
    yield c
    c.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def cognito(stack):
    return boto3.client(
        "cognito-idp",
        endpoint_url=stack["emulator"],
        region_name=stack["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def shot(request):
    """shot(page, name): saves a full-page screenshot as
    target/browser-screenshots/<test>--<name>.png."""
    os.makedirs(SHOTS, exist_ok=True)

    def take(page, name):
        path = os.path.join(SHOTS, f"{request.node.name}--{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take

"""What the browser tests share: signing in as a person does, the cookie jar
per site, and the navigations a tab made."""

import json
import os
import re
import urllib.parse

from playwright.sync_api import expect

from sites import API, APP, ROOT

SIGNED_IN = "You are signed in as {}"
SIGNED_OUT_APP = "You are signed out"
# The logout function's fixed pages (shared/src/logout/page.rs).
INVALID_HEADING = "This sign-out link is not valid"


def sign_in(page, stack):
    """Signs the fixture user in through the app's link and the hosted UI's
    form; returns when the app shows the user signed in."""
    page.goto(f"{APP}/")
    expect(page.locator("#status")).to_have_text(SIGNED_OUT_APP)
    page.click("#signin")
    page.wait_for_url(re.compile(r"^https://auth\.test/login\?"))
    page.fill("#username", stack["username"])
    page.fill("#password", stack["password"])
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text(SIGNED_IN.format(stack["username"]))


def jar(context) -> dict[str, set[str]]:
    """The browser's cookies: site (domain) -> cookie names."""
    found: dict[str, set[str]] = {}
    for c in context.cookies():
        found.setdefault(c["domain"].lstrip("."), set()).add(c["name"])
    return found


def cookie(context, name):
    matches = [c for c in context.cookies() if c["name"] == name]
    assert len(matches) <= 1, f"{name} set more than once"
    return matches[0] if matches else None


class Hops:
    """Every top-level navigation request of `page` (redirects included), as
    host and path only: the query may hold an ID token, which no test prints."""

    def __init__(self, page):
        self.urls: list[str] = []
        page.on(
            "request",
            lambda r: r.is_navigation_request()
            and r.frame == page.main_frame
            and self.urls.append(r.url),
        )

    def paths(self) -> list[str]:
        return [
            urllib.parse.urlsplit(u).netloc + urllib.parse.urlsplit(u).path for u in self.urls
        ]


def query(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def hostile_targets() -> list[str]:
    """The logout function's hostile-target corpus
    (functions/logout/tests/hostile_targets.json), on this suite's sites:
    the allowed app is app.test, the attacker evil.test."""
    path = os.path.join(ROOT, "functions", "logout", "tests", "hostile_targets.json")
    with open(path) as f:
        corpus = json.load(f)
    mapped = [
        t.replace("app.example.com", "app.test").replace("evil.example.net", "evil.test")
        for t in corpus
    ]
    # Allowed for the confidential client only in the function's own tests;
    # here no client allows it.
    return mapped + ["http://localhost:3000/"]


def logout_url(**params) -> str:
    return f"{API}/logout?" + urllib.parse.urlencode(params)

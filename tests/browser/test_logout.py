"""Browser sign-out through the whole chain, in a real browser: our
GET /logout on api.test, Cognito's /logout on auth.test (the emulator's
hosted UI), our callback, and the app's signed-out page on app.test, each
a site of its own. Every test asserts on the browser's own cookie jar and
on the page it ends on."""

import re
import urllib.parse

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import expect

from helpers import (
    INVALID_HEADING,
    SIGNED_IN,
    SIGNED_OUT_APP,
    Hops,
    cookie,
    hostile_targets,
    jar,
    logout_url,
    query,
    sign_in,
)
from sites import API, APP, SIGNED_OUT, STATE

STATE_COOKIE = "__Host-signout_state"
CONFIRM_COOKIE = "__Host-signout_confirm"
SIGNED_OUT_PAGE = re.compile("^" + re.escape(f"{SIGNED_OUT}?"))
CHAIN = ["api.test/logout", "auth.test/logout", "api.test/logout/callback", "app.test/signed-out"]


def refresh_works(cognito, stack, refresh) -> bool:
    try:
        cognito.initiate_auth(
            ClientId=stack["client_id"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh},
        )
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NotAuthorizedException"
        return False


def assert_signed_out_everywhere(page, context, hops):
    assert page.url.startswith(f"{SIGNED_OUT}?")
    assert query(page.url) == {"state": [STATE]}, "state echoed, nothing else"
    expect(page.locator("h1")).to_have_text("You have signed out of Example app")
    assert hops.paths()[-4:] == CHAIN
    # No app session, no refresh token, no Cognito session, no state cookie.
    assert jar(context) == {}


def test_cognito_style_logout_ends_on_the_apps_signed_out_page_with_no_cookie_left(
    page, context, stack, sites, cognito, shot
):
    sign_in(page, stack)
    refresh = sites.last_tokens()["refresh_token"]
    assert refresh_works(cognito, stack, refresh)
    hops = Hops(page)
    page.click("#signout-cognito")
    # No id_token_hint: the user is asked first (LOGOUT_CONFIRM=auto).
    button = page.get_by_role("button", name="Sign out")
    expect(button).to_be_focused()
    shot(page, "confirmation-page")
    assert jar(context)["api.test"] == {"__Host-session", "refresh_token", CONFIRM_COOKIE}
    page.keyboard.press("Enter")  # the keyboard alone signs out
    page.wait_for_url(SIGNED_OUT_PAGE)
    assert_signed_out_everywhere(page, context, hops)
    assert hops.paths() == ["api.test/logout", *CHAIN]
    assert not refresh_works(cognito, stack, refresh), "the refresh-token cookie was revoked"
    shot(page, "signed-out")


def test_oidc_rp_initiated_logout_with_a_valid_hint_asks_nothing_and_ends_signed_out_with_state_echoed(
    page, context, stack, sites, cognito, shot
):
    sign_in(page, stack)
    refresh = sites.last_tokens()["refresh_token"]
    hops = Hops(page)
    page.click("#signout")
    page.wait_for_url(SIGNED_OUT_PAGE)
    assert_signed_out_everywhere(page, context, hops)
    assert hops.paths() == CHAIN, "no confirmation page with a valid hint"
    assert not refresh_works(cognito, stack, refresh)
    shot(page, "signed-out")


def test_back_after_logout_the_old_token_gets_401_and_the_app_shows_signed_out(
    page, context, stack, shot
):
    sign_in(page, stack)
    page.click("#signout")
    page.wait_for_url(SIGNED_OUT_PAGE)
    with page.expect_response(
        lambda r: r.url == f"{API}/session" and r.request.method == "GET"
    ) as answer:
        page.go_back()
    assert answer.value.status == 401
    assert page.url == f"{APP}/"
    expect(page.locator("#status")).to_have_text(SIGNED_OUT_APP)
    expect(page.locator("#signout")).to_be_hidden()
    shot(page, "back-signed-out")


def test_each_hostile_target_leaves_the_browser_on_our_error_page(
    page, context, stack, sites, shot
):
    sign_in(page, stack)
    before = jar(context)
    hits = len(sites.evil_hits())
    targets = hostile_targets()
    assert len(targets) >= 40
    assert not {f"{APP}/signed-out", f"{APP}/bye?from=logout"} & set(targets)
    for i, target in enumerate(targets):
        for name in ("logout_uri", "post_logout_redirect_uri"):
            hops = Hops(page)
            answer = page.goto(logout_url(client_id=stack["client_id"], state="s", **{name: target}))
            case = f"target #{i} as {name}"
            assert answer.status == 400, case
            assert page.url.startswith(f"{API}/logout?"), case
            assert len(hops.urls) == 1, f"{case}: no redirect"
            expect(page.locator("h1")).to_have_text(INVALID_HEADING)
            # Nothing on the page can navigate: no script, no refresh, no link.
            content = page.content().lower()
            for marker in ("<script", "http-equiv", "<a ", "<form", "<iframe"):
                assert marker not in content, f"{case}: {marker}"
            if i == 0 and name == "logout_uri":
                shot(page, "error-page")
    assert len(sites.evil_hits()) == hits, "no request ever reached another site"
    assert jar(context) == before, "no cookie touched"


def test_a_state_cookie_replayed_in_another_tab_is_refused(page, context, stack, shot):
    sign_in(page, stack)
    # Read the state cookie from the first hop's answer as the browser got it.
    set_by_first_hop = []
    page.on(
        "response",
        lambda r: urllib.parse.urlsplit(r.url).path == "/logout"
        and r.url.startswith(f"{API}/")
        and set_by_first_hop.extend(
            h["value"] for h in r.headers_array() if h["name"].lower() == "set-cookie"
        ),
    )
    page.click("#signout")
    page.wait_for_url(SIGNED_OUT_PAGE)
    state = [c for c in set_by_first_hop if c.startswith(f"{STATE_COOKIE}=") and "Max-Age=300" in c]
    assert len(state) == 1, "the first hop set one state cookie"
    attributes = [a.strip() for a in state[0].split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(attributes)
    assert not any(a.lower().startswith("domain=") for a in attributes), "host-only"
    value = attributes[0].split("=", 1)[1]
    assert cookie(context, STATE_COOKIE) is None, "used once, then cleared"

    # The same cookie, presented again from another tab.
    context.add_cookies(
        [
            {
                "name": STATE_COOKIE,
                "value": value,
                "url": f"{API}/",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    tab = context.new_page()
    hops = Hops(tab)
    answer = tab.goto(f"{API}/logout/callback")
    assert answer.status == 400
    assert len(hops.urls) == 1 and tab.url == f"{API}/logout/callback"
    expect(tab.locator("h1")).to_have_text(INVALID_HEADING)
    assert cookie(context, STATE_COOKIE) is None, "cleared again"
    shot(tab, "replay-refused")


@pytest.fixture(autouse=True)
def _no_visit_elsewhere(sites):
    before = len(sites.evil_hits())
    yield
    assert len(sites.evil_hits()) == before


def sign_in_with_idp(page, username):
    page.goto(f"{APP}/")
    page.click("#signin-idp")
    page.wait_for_url(re.compile(r"^https://idp\.test/authorize\?"))
    page.get_by_label("IdP username").fill(username)
    page.get_by_label("IdP password").fill("idp-password")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status")).to_have_text(f"You are signed in as IdP_{username}")


def test_a_federated_users_idp_session_ends_too_and_signing_in_again_asks_the_idp(
    page, context, sites, shot
):
    sign_in_with_idp(page, "bob")
    assert jar(context) == {
        "idp.test": {"idp_session"},
        "auth.test": {"cognito"},
        "api.test": {"__Host-session", "refresh_token"},
    }
    hops = Hops(page)
    page.click("#signout")  # with the ID token, whose identities claim names IdP
    page.wait_for_url(SIGNED_OUT_PAGE)
    assert hops.paths() == [*CHAIN[:3], "idp.test/logout", CHAIN[3]]
    assert query(page.url) == {"state": [STATE]}
    assert jar(context) == {}, "the IdP's session cookie is gone too"
    shot(page, "signed-out")
    # Signing in again: the IdP asks for credentials (no single sign-on left).
    asked = sites.idp_forms
    page.goto(f"{APP}/")
    page.click("#signin-idp")
    page.wait_for_url(re.compile(r"^https://idp\.test/authorize\?"))
    expect(page.get_by_label("IdP password")).to_be_visible()
    assert sites.idp_forms == asked + 1
    shot(page, "idp-asks-again")


def test_a_second_tab_of_the_same_session_is_signed_out_too(page, context, stack, sites, shot):
    sign_in(page, stack)
    tokens = sites.last_tokens()
    # A second tab of the app with the same session's tokens (as window.open copies sessionStorage).
    tab = context.new_page()
    tab.goto(f"{APP}/")
    tab.evaluate(
        "t => { sessionStorage.setItem('access', t.access); sessionStorage.setItem('id', t.id); }",
        {"access": tokens["access_token"], "id": tokens["id_token"]},
    )
    tab.reload()
    expect(tab.locator("#status")).to_have_text(SIGNED_IN.format(stack["username"]))
    page.click("#signout")  # LOGOUT_SCOPE=session: the hinted session, every tab of it
    page.wait_for_url(SIGNED_OUT_PAGE)
    with tab.expect_response(lambda r: r.url == f"{API}/session" and r.request.method == "GET") as answer:
        tab.reload()
    assert answer.value.status == 401
    expect(tab.locator("#status")).to_have_text(SIGNED_OUT_APP)
    shot(tab, "second-tab-signed-out")

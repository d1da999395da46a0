"""The emulator's hosted UI (tools/hosted_ui.py) as a browser meets it: a
Cognito session cookie on the pool's domain, and Cognito's own /logout."""

import re

from playwright.sync_api import expect

from helpers import cookie, jar, query, sign_in
from sites import APP_CALLBACK, AUTH, SIGNED_OUT

COGNITO_ERROR = "An error was encountered with the requested page."


def test_signing_in_at_the_hosted_ui_gives_the_browser_a_cognito_session(
    page, context, stack, shot
):
    page.goto(f"{AUTH}/login?client_id={stack['client_id']}&redirect_uri={APP_CALLBACK}&response_type=code")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    shot(page, "sign-in-form")
    sign_in(page, stack)
    c = cookie(context, "cognito")
    assert c is not None and c["domain"] == "auth.test"
    assert c["secure"] and c["httpOnly"] and c["path"] == "/"
    assert jar(context) == {
        "auth.test": {"cognito"},
        "api.test": {"__Host-session", "refresh_token"},
    }


def test_hosted_logout_refuses_a_logout_uri_the_client_did_not_register(
    page, context, stack, shot
):
    sign_in(page, stack)
    # The client registers only our callback as its sign-out URL.
    page.goto(f"{AUTH}/logout?client_id={stack['client_id']}&logout_uri={SIGNED_OUT}")
    assert page.url.startswith(f"{AUTH}/error?")
    assert query(page.url)["error"] == ["redirect_mismatch"]
    expect(page.locator("h1")).to_have_text(COGNITO_ERROR)
    shot(page, "cognito-error")
    assert cookie(context, "cognito") is not None, "the Cognito session is kept"


def test_hosted_logout_with_redirect_uri_signs_out_and_shows_the_sign_in_form(
    page, context, stack, shot
):
    sign_in(page, stack)
    page.goto(
        f"{AUTH}/logout?client_id={stack['client_id']}&redirect_uri={APP_CALLBACK}"
        "&response_type=code&state=again"
    )
    page.wait_for_url(re.compile(r"^https://auth\.test/login\?"))
    assert query(page.url)["state"] == ["again"]
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert cookie(context, "cognito") is None
    shot(page, "sign-in-again")

"""Logout CSRF, in a real browser: another site (evil.test) makes the
browser request our /logout without an id_token_hint. Nothing may sign the
user out but the user's own click on our confirmation page."""

from playwright.sync_api import expect

from helpers import SIGNED_IN, cookie, jar, logout_url, sign_in
from sites import APP, SIGNED_OUT

SIGNED_IN_JAR = {"auth.test": {"cognito"}, "api.test": {"__Host-session", "refresh_token"}}


def still_signed_in(page, context, stack):
    """Every cookie is there, and the app (back in this tab, which holds its
    tokens in sessionStorage) still finds its session valid."""
    assert jar(context) == SIGNED_IN_JAR
    page.goto(f"{APP}/")
    expect(page.locator("#status")).to_have_text(SIGNED_IN.format(stack["username"]))


def test_a_cross_site_img_or_iframe_without_hint_does_not_sign_the_user_out(
    page, context, stack, sites
):
    sign_in(page, stack)
    link = logout_url(client_id=stack["client_id"], logout_uri=SIGNED_OUT)
    sites.evil_pages["/embed"] = (
        '<!doctype html><html lang="en"><title>Cats</title><h1>Cats</h1>'
        f'<img src="{link}" alt=""><iframe src="{link}" title="ad"></iframe></html>'
    )
    requests = []
    page.on("request", lambda r: r.url.startswith("https://api.test/logout") and requests.append(r))
    page.goto("https://evil.test/embed", wait_until="load")  # the image and the frame loaded
    assert len(requests) == 2, "both requests reached /logout"
    still_signed_in(page, context, stack)


def test_a_cross_site_top_level_get_without_hint_does_not_sign_the_user_out(
    page, context, stack, sites, shot
):
    sign_in(page, stack)
    link = logout_url(client_id=stack["client_id"], logout_uri=SIGNED_OUT, state="x")
    sites.evil_pages["/win"] = (
        f'<!doctype html><html lang="en"><title>You won</title><a id="go" href="{link}">Claim</a></html>'
    )
    page.goto("https://evil.test/win")
    page.click("#go")
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    assert page.url.startswith("https://api.test/logout?")
    shot(page, "confirmation-page")
    # The user does not click: nothing has changed (the confirmation cookie aside).
    assert cookie(context, "__Host-signout_confirm") is not None
    context.clear_cookies(name="__Host-signout_confirm")
    still_signed_in(page, context, stack)


def test_a_forged_cross_site_post_does_not_sign_the_user_out(page, context, stack, sites):
    sign_in(page, stack)
    # The attacker even had the browser fetch a confirmation page first.
    page.goto(logout_url(client_id=stack["client_id"], logout_uri=SIGNED_OUT))
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    sites.evil_pages["/post"] = (
        '<!doctype html><html lang="en"><title>Form</title>'
        '<form method="post" action="https://api.test/logout">'
        '<input type="hidden" name="csrf" value="guessed"><button id="go">Go</button></form></html>'
    )
    page.goto("https://evil.test/post")
    page.click("#go")
    expect(page.get_by_role("heading", name="This sign-out link is not valid")).to_be_visible()
    context.clear_cookies(name="__Host-signout_confirm")
    still_signed_in(page, context, stack)


def test_the_users_click_on_the_confirmation_page_signs_out(page, context, stack):
    sign_in(page, stack)
    page.goto(logout_url(client_id=stack["client_id"], logout_uri=SIGNED_OUT, state="s"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{SIGNED_OUT}?state=s")
    assert jar(context) == {}

"""A user signed in twice (two tabs, two sessions): what an OIDC logout
with the first session's hint ends, per LOGOUT_SCOPE. The global case runs
its own product (LOGOUT_SCOPE=global), sites and browser."""

import re

import pytest
from playwright.sync_api import expect

from conftest import launch, new_context, start_stack, stop_stack
from helpers import SIGNED_IN, SIGNED_OUT_APP, sign_in
from sites import API, APP, SIGNED_OUT, Sites

SIGNED_OUT_PAGE = re.compile("^" + re.escape(f"{SIGNED_OUT}?"))


def two_sessions(page, context, stack):
    """Signs in in `page`, then again in a second tab (single sign-on at the
    hosted UI: a new session); returns the second tab."""
    sign_in(page, stack)
    tab = context.new_page()
    tab.goto(f"{APP}/")
    tab.click("#signin")  # the hosted UI still has its session: straight back
    expect(tab.locator("#status")).to_have_text(SIGNED_IN.format(stack["username"]))
    return tab


def session_status(tab) -> int:
    with tab.expect_response(lambda r: r.url == f"{API}/session" and r.request.method == "GET") as answer:
        tab.reload()
    return answer.value.status


def test_with_session_scope_another_session_of_the_user_stays_signed_in(page, context, stack, shot):
    tab = two_sessions(page, context, stack)
    page.click("#signout")
    page.wait_for_url(SIGNED_OUT_PAGE)
    assert session_status(tab) == 200
    expect(tab.locator("#status")).to_have_text(SIGNED_IN.format(stack["username"]))


@pytest.fixture(scope="module")
def global_scope(playwright_instance):
    process, description = start_stack({"LOGOUT_SCOPE": "global"})
    sites = Sites(description["emulator"], description["lambda"], description["client_id"])
    port = sites.start()
    browser = launch(playwright_instance, port)
    yield description, browser
    browser.close()
    sites.stop()
    stop_stack(process)


def test_with_global_scope_every_session_of_the_user_is_signed_out(global_scope, shot):
    stack, browser = global_scope
    context = new_context(browser)
    try:
        page = context.new_page()
        tab = two_sessions(page, context, stack)
        page.click("#signout")
        page.wait_for_url(SIGNED_OUT_PAGE)
        assert session_status(tab) == 401
        expect(tab.locator("#status")).to_have_text(SIGNED_OUT_APP)
        shot(tab, "other-session-signed-out")
    finally:
        context.close()

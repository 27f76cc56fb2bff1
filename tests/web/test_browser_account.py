"""The account page and the API docs in headless Chromium (Debian's package), against live_server."""

import re

import pytest

from summaries.models import FeedToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return live_server


def _log_in(page, site, username: str) -> None:
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-castnotes-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/")


def test_copy_button_puts_the_feed_url_on_the_clipboard_and_the_qr_code_loads(browser, site, make_user, make_podcast, subscribe):
    user = make_user("listener")
    subscribe(user, make_podcast("Sea Power"))
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    _log_in(page, site, "listener")

    page.goto(f"{site.url}/accounts/")
    page.click("button[data-copy=feed-url-all]")

    token = FeedToken.objects.get(user=user).token
    expected = f"{site.url}/feeds/{token}.xml"
    assert page.input_value("[data-testid=feed-url]") == expected
    page.wait_for_function("document.querySelector('button[data-copy=feed-url-all]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    context.close()


def test_a_new_api_token_is_shown_once_and_copied(browser, site, make_user):
    make_user("scripter")
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    _log_in(page, site, "scripter")
    page.goto(f"{site.url}/accounts/")

    page.fill("#token-name", "laptop")
    page.click("[data-testid=create-token]")
    token = page.input_value("[data-testid=new-token]")
    page.click("button[data-copy=new-token]")

    assert re.fullmatch(r"cn_[0-9a-f]{12}_[0-9a-f]{64}", token)
    page.wait_for_function("document.querySelector('button[data-copy=new-token]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.goto(f"{site.url}/accounts/")
    assert page.locator("[data-testid=new-token]").count() == 0
    assert token not in page.content()
    context.close()


def test_the_api_docs_render_every_operation_under_the_sites_csp(browser, site):
    context = browser.new_context()
    page = context.new_page()
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)

    page.goto(f"{site.url}/api/v1/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)

    assert page.locator(".opblock").count() >= 10
    assert not [text for text in blocked if "script" in text.lower()]
    context.close()

"""The website in a real browser (Debian's Chromium driven by Playwright) against a live server
with a real Q cluster. Screenshots of each page go to test-artifacts/ (not committed)."""

import os
import re
import threading
from pathlib import Path

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from accounts.models import User
from payments.selectors import balance_for_user
from payments.services import credits_book
from vectorize import views
from vectorize.models import Vectorization

pytestmark = [pytest.mark.browser, pytest.mark.cluster]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long passphrase 7"


@pytest.fixture
def page(live_server, qcluster, settings):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # plain synchronous code all the same.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1200, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        page.console_errors = []
        page.on(
            "console",
            lambda message: message.type == "error" and page.console_errors.append(message.text),
        )
        page.set_default_timeout(30_000)
        page.base = live_server.url
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # With Playwright's loop running, the test's ORM calls get connections of their own
            # context: close them here, or they keep the test database from being dropped.
            connections.close_all()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up(page, email):
    page.goto(page.base + "/")
    shot(page, "01-landing")
    page.get_by_role("link", name="Create a free account").click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    link = re.search(r"http://\S+/accounts/confirm-email/[^\s<\"]+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#dropzone")).to_be_visible()
    page.wait_for_load_state("load")  # the page's script listens for chosen files from then on


def test_it_takes_a_new_user_from_sign_up_to_download(page, bench_dir, tmp_path):
    sign_up(page, "browser@example.com")
    shot(page, "02-convert-empty")

    page.select_option("#id_preset", "auto")
    page.set_input_files(
        "#id_image", [str(bench_dir / "emoji_1F309.png"), str(bench_dir / "logo_ruby.png")]
    )
    cards = page.locator("#uploads .job-card")
    expect(cards).to_have_count(2)
    expect(page.locator("#uploads .status-succeeded")).to_have_count(2, timeout=60_000)
    # The two charges show at once, in the header and under the drop zone.
    expect(page.locator(".credits-link")).to_have_text("8 credits")
    expect(page.locator("#image-help")).to_contain_text("you have 8.")
    expect(page.locator("#recent")).to_be_hidden()  # its "nothing here yet" no longer holds
    shot(page, "03-convert-done")

    page.locator("#uploads a.job-name", has_text="emoji_1F309.png").click()
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    expect(page.locator("[data-metric=similarity]")).to_contain_text("%")
    shot(page, "04-result")
    page.get_by_role("tab", name="Slider").click()
    expect(page.locator("#compare-slider")).to_be_visible()
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("#zoom-level")).to_have_text("150%")
    shot(page, "05-result-slider")

    first_url = page.url
    page.select_option("#id_preset", "poster")
    page.get_by_role("button", name="Trace again").click()
    expect(page).not_to_have_url(first_url)
    expect(page.locator("#job-status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#job-meta")).to_contain_text("preset poster")

    with page.expect_download() as svg_download:
        page.locator("#job-download").click()
    assert svg_download.value.suggested_filename == "emoji_1F309.svg"
    assert Path(svg_download.value.path()).read_text().startswith("<svg")
    with page.expect_download() as pdf_download:
        page.locator("a[data-format=pdf]").click()
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF-")

    page.get_by_role("link", name="History").click()
    expect(page.locator(".cards .job-card")).to_have_count(3)
    shot(page, "06-history")
    card = page.locator(".job-card", has_text="logo_ruby.png")
    meta, delete = card.locator(".meta").bounding_box(), card.get_by_role("button").bounding_box()
    assert delete["x"] >= meta["x"] + meta["width"] or delete["y"] >= meta["y"] + meta["height"]
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button").click()
    expect(page.locator(".cards .job-card")).to_have_count(2)
    assert Vectorization.objects.count() == 2
    assert page.console_errors == []


def test_it_shows_why_an_invalid_file_was_refused(page, tmp_path):
    sign_up(page, "refused@example.com")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("these are notes, not a picture")

    page.set_input_files("#id_image", str(not_an_image))

    card = page.locator("#uploads .job-card")
    expect(card).to_contain_text("This file is not a supported image.")
    expect(card.locator(".status")).to_have_text("Not accepted")
    expect(card.locator(".thumb img")).to_have_count(0)  # nothing the browser could show
    expect(page.locator("#recent .empty")).to_be_visible()  # still nothing converted
    shot(page, "07-refused")
    assert Vectorization.objects.count() == 0


def test_it_shows_the_latest_balance_whatever_order_the_answers_come_in(
    page, bench_dir, monkeypatch
):
    """Two uploads sent together: the answer of the first charge (10 -> 9) is held back until
    the second's (9 -> 8) has arrived, as a slow network might; the page keeps the 8."""
    sign_up(page, "counted@example.com")
    release = threading.Event()
    answer = views._status_payload

    def answer_the_first_charge_last(job):
        if job.balance_after == 9:
            release.wait(30)
        return answer(job)

    monkeypatch.setattr(views, "_status_payload", answer_the_first_charge_last)
    page.set_input_files(
        "#id_image", [str(bench_dir / "emoji_1F309.png"), str(bench_dir / "logo_ruby.png")]
    )
    expect(page.locator("#uploads a.job-name")).to_have_count(1)
    expect(page.locator(".credits-link")).to_have_text("8 credits")
    release.set()

    expect(page.locator("#uploads a.job-name")).to_have_count(2)
    expect(page.locator(".credits-link")).to_have_text("8 credits")
    expect(page.locator("#image-help")).to_contain_text("you have 8.")


def test_it_shows_the_chosen_image_and_the_way_to_credits_when_there_are_none(page, bench_dir):
    sign_up(page, "broke@example.com")
    user = User.objects.get(email="broke@example.com")
    credits_book(user=user, delta=-balance_for_user(user=user), kind="staff", key="spent")

    page.set_input_files("#id_image", str(bench_dir / "logo_ruby.png"))

    card = page.locator("#uploads .job-card")
    expect(card).to_contain_text("Not enough credits: this needs 1 and you have 0.")
    preview = card.locator(".thumb img")
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    assert preview.evaluate("image => image.naturalWidth") == 512
    shot(page, "07-refused-no-credits")
    card.get_by_role("link", name="Buy credits").click()
    expect(page).to_have_url(page.base + reverse("payments:overview"))
    assert Vectorization.objects.count() == 0


def test_it_fits_a_phone_screen(page, bench_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base + "/")
    widths = {"landing": page.evaluate("document.documentElement.scrollWidth")}
    shot(page, "08-landing-phone")
    sign_up(page, "phone@example.com")
    page.set_input_files("#id_image", str(bench_dir / "logo_ruby.png"))
    expect(page.locator("#uploads .status-succeeded")).to_have_count(1, timeout=60_000)
    job = Vectorization.objects.get()
    scrolling = {}

    for name, path in [
        ("convert", "/"),
        ("history", "/v/history/"),
        ("result", f"/v/{job.pk}/"),
        ("credits", "/credits/"),
        ("api-keys", "/accounts/profile/"),
    ]:
        page.goto(page.base + path)
        if name == "api-keys":  # with a key in the table, and a new key's secret shown
            page.get_by_label("Key name").fill("phone script")
            page.get_by_role("button", name="Create key").click()
            expect(page.locator("#new-key-secret")).to_be_visible()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        # A table may scroll sideways inside its card, but here none needs to.
        scrolling[name] = page.evaluate(
            "[...document.querySelectorAll('.table-scroll')]"
            ".filter(box => box.scrollWidth > box.clientWidth).length"
        )
        shot(page, f"09-{name}-phone")

    assert widths == dict.fromkeys(widths, 390)
    assert scrolling == dict.fromkeys(scrolling, 0)


def test_it_says_in_plain_words_when_an_image_would_not_finish(page, tmp_path):
    from vectorize.tests import realworld

    sign_up(page, "noise@example.com")
    noise = tmp_path / "static.png"
    noise.write_bytes(realworld.noise(8000, 5000))  # 5 MB of 1-bit noise at 40 megapixels
    before = balance_for_user(user=User.objects.get(email="noise@example.com"))

    page.set_input_files("#id_image", str(noise))

    card = page.locator("#uploads .job-card")
    expect(card).to_contain_text("too detailed to convert within our time limit", timeout=60_000)
    expect(card).to_contain_text("Nothing was charged")
    expect(card.locator(".status")).to_have_text("Not accepted")
    shot(page, "10-too-complex")
    assert Vectorization.objects.count() == 0
    assert balance_for_user(user=User.objects.get(email="noise@example.com")) == before


@pytest.mark.parametrize("width", [1366, 390])
def test_the_order_page_says_what_paypal_did_with_the_payment(page, settings, width):
    from urllib.parse import parse_qsl

    from payments import simulator
    from payments.tests.factories import ipn_body, order_for

    settings.PAYPAL_SIMULATOR = True
    page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
    sign_up(page, f"buyer{width}@example.com")
    user = User.objects.get(email=f"buyer{width}@example.com")
    held, declined = order_for(user), order_for(user)
    notify = f"{page.base}/credits/paypal/ipn/"
    for order, fields in [
        (held, {"payment_status": "Pending", "pending_reason": "echeck", "txn_id": "HELD1"}),
        (declined, {"payment_status": "Denied", "txn_id": "DENIED1"}),
    ]:
        simulator.send_ipn(dict(parse_qsl(ipn_body(order, **fields))), notify)

    page.goto(f"{page.base}/credits/orders/{held.pk}/done/")
    expect(page.get_by_role("heading", name="Payment on hold")).to_be_visible()
    expect(page.locator("#order-state")).to_contain_text("PayPal is holding your payment (echeck)")
    shot(page, f"11-order-held-{width}")
    page.goto(f"{page.base}/credits/orders/{declined.pk}/done/")
    expect(page.get_by_role("heading", name="Payment not made")).to_be_visible()
    expect(page.locator("#order-state")).to_contain_text("no money was taken")
    shot(page, f"12-order-declined-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") == width

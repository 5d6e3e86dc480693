"""The quotas' admin page in headless Chromium (Playwright), and its API over HTTP, against three
bulwark-gateway nodes sharing one Redis (GatewayAdminLiveTests starts them).

usage: admin_browser.py <config.json> [screenshot directory]

The JSON names the nodes' API and admin addresses, the admin token and the test keys. Each check
prints "<name>: ok" or raises; the propagation figures are printed as "propagation: ...".
"""
import json
import statistics
import sys
import time

import requests
from playwright.sync_api import expect, sync_playwright

config = json.load(open(sys.argv[1]))
shots = sys.argv[2] if len(sys.argv) > 2 else None
admins, apis, token = config["admins"], config["apis"], config["token"]
bearer = {"Authorization": "Bearer " + token}


def chat(node, key, model):
    return requests.post(
        apis[node] + "/v1/chat/completions",
        headers={"Authorization": "Bearer " + key},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
        timeout=30,
    )


def settings(node=0):
    response = requests.get(admins[node] + "/admin/quotas", headers=bearer, timeout=10)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


def shot(page, name):
    if shots:
        page.screenshot(path=f"{shots}/{name}.png", full_page=True)


def propagation(changes):
    """Saves on node a, each timed until nodes b and c report its version."""
    times = []
    session = requests.Session()
    for change in range(changes):
        current, etag = settings()
        body = dict(current["settings"], total=10_000 + change)
        response = session.put(admins[0] + "/admin/quotas", headers=dict(bearer, **{"If-Match": etag}), json=body, timeout=10)
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        saved = time.monotonic()
        for node in (1, 2):
            while session.get(admins[node] + "/admin/quotas", headers=bearer, timeout=10).json()["version"] != version:
                assert time.monotonic() - saved < 5, f"node {node} did not apply version {version} within 5 s"
                time.sleep(0.002)
        times.append(time.monotonic() - saved)
    times.sort()
    print(f"propagation: {len(times)} changes, median {statistics.median(times) * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms")


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=config.get("chromium", "/usr/bin/chromium"), args=["--no-sandbox"])
    dialogs = []

    def new_context():
        # A context of its own: a browser whose cookies (shared by a host's ports) start empty.
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        context.on("page", lambda page: page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())))
        return context

    context = new_context()
    page = context.new_page()

    # A wrong token is refused; the right one signs in and shows the current settings.
    page.goto(admins[0] + "/admin")
    expect(page).to_have_url(admins[0] + "/admin/login")
    page.fill("#token", "not-the-admin-token")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("That token is not an admin token.")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page).to_have_url(admins[0] + "/admin")
    current, etag = settings()
    expect(page.locator("#version")).to_have_text(str(current["version"]))
    expect(page.locator("#success")).to_have_value(str(current["settings"]["success"]))
    expect(page.locator("#total")).to_have_value(str(current["settings"]["total"]))
    print("login: ok")

    # The keyboard adds a row and lands in it; removing every row keeps one, emptied, to copy.
    rows = page.locator("#groups tbody tr").count()
    page.focus("#add-group")
    page.keyboard.press("Enter")
    expect(page.locator("#groups tbody tr")).to_have_count(rows + 1)
    assert page.evaluate("document.activeElement.id") == f"g{rows}_name", page.evaluate("document.activeElement.id")
    page.keyboard.type("typed")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"g{rows}_total"
    for _ in range(rows + 1):
        page.locator("#groups tbody tr button.remove").first.click()
    expect(page.locator("#groups tbody tr")).to_have_count(1)
    page.click("#add-group")
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    page.reload()
    print("keyboard and rows: ok")

    # success = 0: the inline error, tied to its field, and nothing sent; the server refuses it too.
    page.fill("#success", "0")
    page.click("#save")
    error = page.locator("#success-error")
    expect(error).to_have_text("must be a whole number from 1 to 1000000000")
    expect(page.locator("#success")).to_have_attribute("aria-invalid", "true")
    assert "success-error" in page.locator("#success").get_attribute("aria-describedby")
    assert page.evaluate("document.activeElement.id") == "success"
    assert settings()[0]["version"] == current["version"], "an invalid form was saved"
    shot(page, "admin-inline-error")
    body = dict(current["settings"], success=0)
    refused = requests.put(admins[0] + "/admin/quotas", headers=dict(bearer, **{"If-Match": etag}), json=body, timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == {"field": "success", "rule": "must be a whole number from 1 to 1000000000"}, refused.text
    print("inline error: ok")

    # gold: total 3, success 2, set on node a; on node b the group's fourth request is refused,
    # well within a second of the save (a failed upstream call uses the total, not the success).
    page.fill("#success", str(current["settings"]["success"]))
    page.fill("#g0_name", "gold")
    page.fill("#g0_total", "3")
    page.fill("#g0_success", "2")
    page.click("#save")
    expect(page.locator("#form-message")).to_contain_text("Saved as version")
    saved_at = time.monotonic()
    statuses = [chat(1, config["gold_key"], "gpt-fail").status_code]
    statuses += [chat(1, config["gold_key"], "gpt-ok").status_code for _ in range(3)]
    refused_after = time.monotonic() - saved_at
    assert statuses == [500, 200, 200, 429], statuses
    fourth = chat(1, config["gold_key"], "gpt-ok")
    assert fourth.json()["error"]["code"] == "quota_exceeded" and float(fourth.headers["retry-after-ms"]) > 0, fourth.text
    assert refused_after < 1.0, refused_after
    print(f"other node: ok (the fourth request refused on node b {refused_after * 1000:.0f} ms after the save on node a)")
    # The usage table follows within two refreshes.
    expect(page.locator("#usage tbody")).to_contain_text("3 / 3", timeout=5000)
    expect(page.locator("#usage tbody")).to_contain_text("2 / 2")
    page.wait_for_timeout(2500)
    shot(page, "admin-page")
    print("usage: ok")

    # Two tabs edit at once: the second save gets the conflict message, and changes nothing.
    first, second = context.new_page(), new_context().new_page()
    first.goto(admins[0] + "/admin")
    second.goto(admins[2] + "/admin/login")
    second.fill("#token", token)
    second.click("button[type=submit]")
    expect(second).to_have_url(admins[2] + "/admin")
    first.fill("#total", "7000")
    first.click("#save")
    expect(first.locator("#form-message")).to_contain_text("Saved as version")
    second.fill("#total", "9000")
    second.click("#save")
    expect(second.locator("#form-message")).to_contain_text("someone else saved version")
    assert settings()[0]["settings"]["total"] == 7000
    shot(second, "admin-conflict")
    print("two tabs: ok")

    # A group named with markup shows as text, in the form and in the usage table; no script runs.
    markup = '<img src=x onerror="alert(1)">'
    current, etag = settings()
    body = dict(current["settings"])
    body["groups"] = dict(body["groups"], **{markup: [5, 5]})
    assert requests.put(admins[0] + "/admin/quotas", headers=dict(bearer, **{"If-Match": etag}), json=body, timeout=10).status_code == 200
    first.goto(admins[0] + "/admin")
    names = [first.locator(f"#g{i}_name").input_value() for i in range(2)]
    assert markup in names, names
    expect(first.locator("#usage tbody th", has_text=markup)).to_have_count(1, timeout=5000)
    assert first.locator("#usage img").count() == 0 and first.locator("#groups img").count() == 0
    first.wait_for_timeout(500)
    assert dialogs == [], dialogs
    print("markup as text: ok")

    # 100 changes on node a, timed to nodes b and c (before the login limit locks this address
    # out of node c).
    propagation(config.get("changes", 0))

    # Wrong tokens on node c (its own limiter): nine refused as wrong, the tenth in the minute
    # rate-limited.
    login = new_context().new_page()
    for attempt in range(1, 11):
        login.goto(admins[2] + "/admin/login")
        login.fill("#token", f"wrong-token-{attempt}")
        with login.expect_response(lambda r: r.url.endswith("/admin/login") and r.request.method == "POST") as answer:
            login.click("button[type=submit]")
        expected = 401 if attempt < 10 else 429
        assert answer.value.status == expected, (attempt, answer.value.status)
    expect(login.locator("#login-error")).to_contain_text("Too many wrong tokens")
    api = requests.get(admins[2] + "/admin/quotas", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert api.status_code == 429 and int(api.headers["Retry-After"]) > 0, api.status_code
    print("login limit: ok")
    browser.close()


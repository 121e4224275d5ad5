"""Drives a reference app's login flow in headless Chromium (selenium).

    python3 browser.py BASE_URL WORK_DIR

BASE_URL is the app, http://127.0.0.1:PORT (nothing else is ever contacted);
WORK_DIR an empty directory for the browser profile and chromedriver's log.
Prints one JSON object of what the browser saw; the caller checks it against
the contract. Exit 3 when selenium, chromium or chromedriver is missing (the
caller decides whether that fails); exit 1 with a message on stderr when the
browser could not be driven (a step timed out, an element is missing).

The chromium and chromedriver on PATH are used, or those named by the
environment variables CHROMIUM and CHROMEDRIVER.
"""
import json
import os
import shutil
import sys
import time
import traceback
from urllib.parse import urlsplit

# Every wait of a step; the caller kills the whole process group after its
# own, longer, deadline, so that a hung browser fails instead of hanging.
STEP_TIMEOUT = 30

base, work_dir = sys.argv[1].rstrip("/"), sys.argv[2]
if urlsplit(base).hostname != "127.0.0.1":
    print(f"refusing to drive a browser to {base}: only 127.0.0.1", file=sys.stderr)
    sys.exit(2)

# Selenium Manager (a driver downloader that also sends usage statistics)
# must never run: the driver's path is always given below, and these make
# sure of it.
os.environ["SE_AVOID_STATS"] = "true"
os.environ["SE_OFFLINE"] = "true"
# Selenium would send its commands to chromedriver (on localhost) through a
# proxy named in the environment; the browser gets --no-proxy-server below.
for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
    os.environ.pop(var, None)
    os.environ.pop(var.upper(), None)

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    print(
        f"python package missing: {e}; "
        "pip install -r conformance/py/browser-requirements.txt",
        file=sys.stderr,
    )
    sys.exit(3)


def tool(var, names, package):
    given = os.environ.get(var)
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            print(f"{var}={given} is not an executable file", file=sys.stderr)
            sys.exit(3)
        return given
    path = next(filter(None, map(shutil.which, names)), None)
    if not path:
        print(
            f"{names[0]} not found (not on PATH, {var} not set): "
            f"apt-get install {package}",
            file=sys.stderr,
        )
        sys.exit(3)
    return path


chromium = tool("CHROMIUM", ["chromium", "chromium-browser"], "chromium")
chromedriver = tool("CHROMEDRIVER", ["chromedriver"], "chromium-driver")

options = webdriver.ChromeOptions()
options.binary_location = chromium
for arg in [
    "--headless=new",
    # Root (CI containers) has no sandbox; small containers a small /dev/shm.
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    f"--user-data-dir={os.path.join(work_dir, 'profile')}",
    "--no-first-run",
    "--no-default-browser-check",
    # Only 127.0.0.1: no proxy (nor its auto-detection), every host name
    # fails to resolve, and the browser's own background traffic is off.
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--window-size=1024,768",
]:
    options.add_argument(arg)

service = Service(
    executable_path=chromedriver,
    log_output=os.path.join(work_dir, "chromedriver.log"),
)


def path_of(url):
    """The path and query of url, after checking it is still the app."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base:
        raise AssertionError(f"the browser left the app: {url}")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_json(driver):
    """The JSON document the browser shows, whatever viewer it wraps it in."""
    texts = driver.execute_script(
        "return [...document.querySelectorAll('pre')].map(p => p.textContent)"
        ".concat([document.body ? document.body.innerText : ''])"
    )
    for text in texts:
        try:
            return json.loads(text)
        except ValueError:
            continue
    raise AssertionError(f"the page at {driver.current_url} shows no JSON: {texts!r}")


def open_page(driver, path):
    driver.get(base + path)  # waits for the load, redirects included
    return path_of(driver.current_url)


def login_form(driver):
    """The form's fields; fails clearly when the page has none."""
    try:
        return {
            name: driver.find_element(By.NAME, name)
            for name in ("username", "password", "next")
        }
    except WebDriverException:
        raise AssertionError(
            f"no login form at {driver.current_url}: {driver.page_source[:500]!r}"
        ) from None


def session_cookie(driver):
    cookie = driver.get_cookie("sessionid")
    if cookie is None:
        return None
    return {k: cookie.get(k) for k in ("httpOnly", "sameSite", "path", "secure")}


def replaced(element):
    """A wait condition: the page that held `element` has been replaced.
    Mid-navigation chromedriver may answer a probe of the old node with an
    unknown error ("Node with given id does not belong to the document")
    instead of a stale-element one, which `ec.staleness_of` does not catch;
    either way the node is gone from the document."""

    def check(_driver):
        try:
            element.is_enabled()
        except WebDriverException:  # stale-element errors included
            return True
        return False

    return check


def run(driver):
    seen = {}
    driver.set_page_load_timeout(STEP_TIMEOUT)
    driver.set_script_timeout(STEP_TIMEOUT)
    wait = WebDriverWait(driver, STEP_TIMEOUT)

    # 1. A login-required page sends the anonymous visitor to the form.
    seen["me_anonymous_lands_on"] = open_page(driver, "/me")
    form = login_form(driver)
    seen["form_next"] = form["next"].get_attribute("value")
    seen["form_action"] = path_of(
        driver.execute_script("return arguments[0].form.action", form["username"])
    )

    # 2. The form logs in and the app sends the browser back to `next`.
    form["username"].send_keys("john")
    form["password"].send_keys("password")
    button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    button.click()
    wait.until(replaced(button))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    seen["after_login_lands_on"] = path_of(driver.current_url)
    seen["after_login_shows"] = page_json(driver)

    # 3. The cookie is in the browser, sent with requests, and invisible to
    # the page's scripts (HttpOnly). A script's own cookie shows that
    # document.cookie works at all, so that its lack of sessionid means
    # something.
    seen["document_cookie"] = driver.execute_script(
        "document.cookie = 'script_probe=1; path=/; SameSite=Lax';"
        " return document.cookie"
    )
    seen["cookie"] = session_cookie(driver)
    seen["claims_lands_on"] = open_page(driver, "/claims")
    seen["claims"] = page_json(driver)
    seen["document_cookie_on_claims"] = driver.execute_script("return document.cookie")

    # 4. Logout (POST-only) from the page's own script, same origin.
    seen["logout"] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch('/logout', {method: 'POST'})
          .then(r => r.text().then(body => done({status: r.status, body})))
          .catch(e => done({status: 0, body: String(e)}));
        """
    )
    seen["cookie_after_logout"] = session_cookie(driver)
    seen["me_after_logout_lands_on"] = open_page(driver, "/me")
    login_form(driver)
    seen["claims_after_logout"] = (open_page(driver, "/claims"), page_json(driver))
    return seen


def main():
    started = time.monotonic()
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as e:
        # The caller shows the tail of chromedriver's log.
        print(f"chromium did not start: {e.msg}", file=sys.stderr)
        sys.exit(1)
    try:
        seen = run(driver)
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        try:
            where = driver.current_url
        except Exception:  # noqa: BLE001
            where = "?"
        print(
            f"browser step failed at {where}: {type(e).__name__}: {e}\n"
            + traceback.format_exc(),
            file=sys.stderr,
        )
        sys.exit(1)
    finally:
        driver.quit()
    seen["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(seen))


main()

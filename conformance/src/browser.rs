//! The reference app's login flow in a real browser: headless Chromium,
//! driven by selenium from `py/browser.py` (issue 13, item 4).
//!
//! The script opens `/me` as an anonymous visitor, lands on the login form,
//! logs in as john through the form, reads `document.cookie`, opens
//! `/claims`, logs out with the page's own `fetch('/logout')` and opens `/me`
//! and `/claims` again. It reports what the browser saw as JSON; the checks
//! against `docs/reference-app.md` are here.
//!
//! It needs python3 with selenium (`py/browser-requirements.txt`) and
//! Chromium with its driver (Debian: `chromium`, `chromium-driver`). When one
//! is missing the test says so and returns, except under CI (`CI=true`),
//! where it fails.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::App;

/// The whole browser run, Chromium's start included. Each step of the script
/// has its own 30 s limit; this one catches a browser or driver that hangs
/// anyway, and the run is then killed, browser and all.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as [`crate::python`]'s, session-jwt-redis's `testing` module and
/// session-jwt-cli's tests.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// One browser at a time: three Chromiums at once on a small CI machine
/// (that may be compiling as well) is how step timeouts become flaky.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Runs the login flow in headless Chromium against `adapter`'s reference
/// app and checks every step.
pub fn login_flow_in_a_browser(adapter: &str) {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let app = App::start(adapter, &[]);
    let Some(seen) = run_browser(&app.url("")) else {
        return;
    };
    let ctx = || {
        format!(
            "{adapter}: the browser saw {seen:#}\napp stderr:\n{}",
            app.stderr()
        )
    };
    let login_form = |key: &str| {
        let at = seen[key].as_str().unwrap_or_default();
        assert!(
            at == "/login?next=/me" || at == "/login?next=%2Fme",
            "{key}: a login-required page must send the browser to \
             /login?next=/me, it ended on {at:?}; {}",
            ctx()
        );
    };

    // 1. /me redirects an anonymous visitor to the form, `next` carried.
    login_form("me_anonymous_lands_on");
    assert_eq!(
        seen["form_next"],
        "/me",
        "the form's hidden next; {}",
        ctx()
    );
    assert_eq!(
        seen["form_action"],
        "/login",
        "the form's action; {}",
        ctx()
    );

    // 2. The form logs in and the app sends the browser back to `next`.
    assert_eq!(
        seen["after_login_lands_on"],
        "/me",
        "after the form is submitted the browser must be back on next; {}",
        ctx()
    );
    assert_eq!(
        seen["after_login_shows"],
        json!({"id": 1, "username": "john", "email": "john@domain.com"}),
        "/me after login; {}",
        ctx()
    );

    // 3. HttpOnly: scripts see their own cookie, never the session's; the
    // browser holds it and sends it.
    for key in ["document_cookie", "document_cookie_on_claims"] {
        let names: Vec<&str> = seen[key]
            .as_str()
            .unwrap_or_default()
            .split(';')
            .map(|c| c.split('=').next().unwrap_or_default().trim())
            .collect();
        assert!(
            names.contains(&"script_probe"),
            "{key}: document.cookie must show a script's own cookie (else the \
             check below proves nothing); {}",
            ctx()
        );
        assert!(
            !names.contains(&"sessionid"),
            "{key}: document.cookie shows the session cookie, it must be HttpOnly; {}",
            ctx()
        );
    }
    assert_eq!(
        seen["cookie"]["httpOnly"],
        true,
        "the browser must hold sessionid as HttpOnly; {}",
        ctx()
    );
    assert_eq!(seen["cookie"]["sameSite"], "Lax", "SameSite; {}", ctx());
    assert_eq!(seen["cookie"]["path"], "/", "Path; {}", ctx());
    assert_eq!(seen["claims_lands_on"], "/claims", "{}", ctx());
    assert_eq!(
        (&seen["claims"]["username"], &seen["claims"]["u"]),
        (&json!("john"), &json!("john")),
        "/claims must show the token the browser sent; {}",
        ctx()
    );

    // 4. Logout makes the visitor anonymous.
    assert_eq!(
        seen["logout"],
        json!({"status": 200, "body": "OK"}),
        "POST /logout from the page; {}",
        ctx()
    );
    assert_eq!(
        seen["cookie_after_logout"],
        Value::Null,
        "logout must remove the session cookie from the browser; {}",
        ctx()
    );
    login_form("me_after_logout_lands_on");
    assert_eq!(
        seen["claims_after_logout"],
        json!(["/claims", {}]),
        "/claims after logout; {}",
        ctx()
    );
}

/// Runs `py/browser.py` against `base` and returns what it saw; `None` when a
/// tool is missing outside CI.
fn run_browser(base: &str) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/browser.py");
    let work = tempfile::tempdir().expect("a temporary directory");
    // Files, not pipes: a browser process that outlives the script would
    // hold a pipe open, and reading it would hang.
    let out_path = work.path().join("stdout");
    let err_path = work.path().join("stderr");
    let mut child = match Command::new("python3")
        .arg(script)
        .arg(base)
        .arg(work.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"))
        // Its own process group, so that chromedriver and Chromium can be
        // killed with it.
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return missing(&format!("python3 not found ({e})")),
    };
    let pgid = child.id();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("wait for browser.py") {
            Some(status) => break Some(status),
            None if Instant::now() > deadline => break None,
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let status = status.unwrap_or_else(|| {
        // The script, chromedriver and Chromium. Only here, while the script
        // is not yet reaped, is the group id sure to be still ours; a script
        // that ends quits the browser itself.
        kill_group(pgid);
        let _ = child.wait();
        panic!(
            "the browser run did not end within {} s (killed); browser.py stderr:\n{}\n\
             chromedriver log (tail):\n{}",
            RUN_TIMEOUT.as_secs(),
            read(&err_path),
            tail(&work.path().join("chromedriver.log"))
        )
    });
    let stderr = read(&err_path);
    if status.code() == Some(3) {
        return missing(stderr.trim());
    }
    assert!(
        status.success(),
        "browser.py failed ({status}):\n{stderr}\nchromedriver log (tail):\n{}",
        tail(&work.path().join("chromedriver.log"))
    );
    let out = read(&out_path);
    Some(
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("browser.py printed no JSON ({e}): {out:?}\n{stderr}")),
    )
}

/// A missing tool: fails under CI, else says so and returns `None`.
fn missing(why: &str) -> Option<Value> {
    let msg = format!(
        "{why}: install Chromium and its driver (apt-get install chromium \
         chromium-driver) and selenium (pip install -r \
         conformance/py/browser-requirements.txt); .ci/run does"
    );
    assert!(!under_ci(), "{msg} (CI=true: failing)");
    // Straight to stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "NOT RUN (browser): {msg}");
    None
}

/// `kill -KILL -- -pgid`, quietly: the group may be gone already.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(path: &Path) -> String {
    let text = read(path);
    let start = text.len().saturating_sub(4000);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

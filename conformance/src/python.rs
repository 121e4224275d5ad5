//! Running the Python interoperability script (PyJWT, django-session-jwt).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as session-jwt-redis's `testing` module and session-jwt-cli's tests.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Runs `py/interop.py` with `request` on stdin and returns its JSON answer.
///
/// When python3 or a package is missing: under CI (`CI` set to `true`, any
/// case, or `1`) this panics, so the run fails; elsewhere it says why on
/// stderr, past the test harness's capture so that it is seen, and returns
/// `None`, and the caller returns early.
pub fn interop(request: &Value) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/interop.py");
    let missing = |why: String| -> Option<Value> {
        let msg = format!(
            "{why}: install with `pip install -r conformance/py/requirements.txt` (.ci/run does)"
        );
        assert!(!under_ci(), "{msg} (CI=true: failing)");
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "NOT RUN (python interop): {msg}");
        None
    };
    let mut child = match Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return missing(format!("python3 not found ({e})")),
    };
    // A script that stops early (a missing package, exit 3) may close its
    // stdin before reading it: its exit status says why, not the pipe.
    let written = child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes());
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "interop.py stdin: {e}"
        );
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        return missing(stderr.trim().to_string());
    }
    assert!(
        out.status.success(),
        "interop.py failed for {request}:\n{stderr}"
    );
    Some(serde_json::from_slice(&out.stdout).expect("interop.py prints JSON"))
}

//! Running the Python interoperability script (PyJWT, django-session-jwt).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Runs `py/interop.py` with `request` on stdin and returns its JSON answer.
///
/// When python3 or a package is missing: under CI (`CI=true`) this panics,
/// so the run fails; elsewhere it prints why and returns `None`, and the
/// caller returns early.
pub fn interop(request: &Value) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/interop.py");
    let missing = |why: String| -> Option<Value> {
        let msg = format!(
            "{why}: install with `pip install -r conformance/py/requirements.txt` (.ci/run does)"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("NOT RUN (python interop): {msg}");
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
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
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

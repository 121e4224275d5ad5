//! Interoperability with Python: PyJWT and django-session-jwt, through
//! tests/py/interop.py.
//!
//! Needs `python3` with the packages of tests/py/requirements.txt. When they
//! are missing, each test says why on stderr and returns early, except under
//! CI (`CI` set to `true`, any case, or `1`), where that is a failure.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SECRET: &str = "a secret of at least thirty-two bytes, for tests";
const DEMO_TOML: &str = r#"
fields = [
  ["id", "id", "user_id"],
  ["username", "u", "username"],
  ["email", "e", "email"],
  ["profile.team", "t", "team"],
  ["invalid", "i", "invalid"],
]
"#;

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as session-jwt-redis's `testing` module and the conformance suite.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The helper script, if python3 and the packages are there.
fn python() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/interop.py");
    let problem = match Command::new("python3").arg(&script).arg("check").output() {
        Err(e) => format!("python3 cannot be run: {e}"),
        Ok(out) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            format!(
                "a Python package is missing: {}",
                stderr.lines().last().unwrap_or("(no message)")
            )
        }
        Ok(_) => return Some(script),
    };
    let msg = format!(
        "the interoperability tests need python3 with PyJWT, cryptography, django and \
         django-session-jwt ({problem}); install them with: \
         pip install -r session-jwt-cli/tests/py/requirements.txt"
    );
    assert!(!under_ci(), "{msg} (CI=true: failing)");
    // Straight to stderr, past the test harness's capture, so it is seen.
    let _ = writeln!(std::io::stderr(), "skipping: {msg}");
    None
}

/// Runs the helper; (exit code, stdout).
fn py(script: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    if code != 0 && code != 1 {
        panic!("interop.py {args:?} failed ({code}): {stderr}");
    }
    (
        code,
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
    )
}

/// Runs the built binary; (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_session-jwt"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().expect("exited"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn keygen(dir: &Path, alg: &str) -> (PathBuf, PathBuf) {
    keygen_named(dir, alg, alg)
}

fn keygen_named(dir: &Path, alg: &str, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub.pem"));
    let (code, _, err) = cli(&[
        "keygen",
        "--alg",
        alg,
        "--out",
        s(&key),
        "--public-out",
        s(&public),
    ]);
    assert_eq!(code, 0, "{err}");
    (key, public)
}

fn inspect_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["inspect", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(&all);
    let v =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("JSON from {args:?}: {out} {err}"));
    (code, v)
}

fn assert_reference_user(v: &Value) {
    let e = &v["expanded"];
    assert_eq!(v["signature"], "verified", "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["session_key"], "1234abcdef");
    for (short, long, value) in [
        ("id", "user_id", Value::from(1)),
        ("u", "username", "john".into()),
        ("e", "email", "john@domain.com".into()),
        ("t", "team", "core".into()),
    ] {
        assert_eq!(e[short], value, "{short} in {v}");
        assert_eq!(e[long], value, "{long} in {v}");
        assert_eq!(v["long_names"][short], long);
    }
    assert_eq!(e["foo"], "bar", "the CALLABLE's claim");
    assert_eq!(e.get("i"), None, "a missing attribute is left out");
    assert_eq!(e.get("invalid"), None);
    let lifetime = v["exp"]["unix"].as_i64().unwrap() - v["iat"]["unix"].as_i64().unwrap();
    assert_eq!(lifetime, 28_800);
}

#[test]
fn django_session_jwt_hs256_token_is_inspected_with_long_names() {
    let Some(py_script) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    std::fs::write(&config, DEMO_TOML).unwrap();
    let (code, token) = py(
        &py_script,
        &["dsj-create", "--secret", SECRET, "--sk", "1234abcdef"],
    );
    assert_eq!(code, 0);
    let (code, v) = inspect_json(&[&token, "--key", SECRET, "--config", s(&config)]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["header"]["alg"], "HS256");
    assert_reference_user(&v);
    // As a Cookie header, with the text report.
    let header = format!("Cookie: csrftoken=x; sessionid={token}");
    let (code, out, _) = cli(&["inspect", &header, "--key", SECRET, "--config", s(&config)]);
    assert_eq!(code, 0);
    assert!(out.contains("  u    username       \"john\"\n"), "{out}");
    assert!(
        out.ends_with("signature VERIFIED (HS256): token valid\n"),
        "{out}"
    );
    // Another secret: refused.
    let (code, v) = inspect_json(&[
        &token,
        "--key",
        "some other secret of thirty-two bytes or more",
    ]);
    assert_eq!((code, &v["signature"]), (1, &Value::from("invalid")));
}

#[test]
fn django_session_jwt_rs256_token_is_inspected_with_long_names() {
    let Some(py_script) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    std::fs::write(&config, DEMO_TOML).unwrap();
    let (private, public) = keygen(dir.path(), "RS256");
    let (code, token) = py(
        &py_script,
        &[
            "dsj-create",
            "--alg",
            "RS256",
            "--private",
            s(&private),
            "--public",
            s(&public),
            "--sk",
            "1234abcdef",
        ],
    );
    assert_eq!(code, 0);
    for key in [&public, &private] {
        let (code, v) = inspect_json(&[&token, "--key", s(key), "--config", s(&config)]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["header"]["alg"], "RS256");
        assert_reference_user(&v);
    }
    // From a JWKS, as a consuming service would.
    let (code, jwks, _) = cli(&["jwks", s(&public)]);
    assert_eq!(code, 0);
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks).unwrap();
    let (code, v) = inspect_json(&[&token, "--jwks", s(&jwks_file), "--config", s(&config)]);
    assert_eq!(code, 0, "{v}");
    assert_reference_user(&v);
    // Another key pair: refused.
    let (_, other) = keygen_named(dir.path(), "RS256", "other");
    let (code, v) = inspect_json(&[&token, "--key", s(&other)]);
    assert_eq!((code, &v["rejected"]), (1, &Value::from("bad signature")));
}

#[test]
fn minted_tokens_verify_in_pyjwt_for_every_algorithm() {
    let Some(py_script) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for alg in ["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"] {
        let (key, public) = keygen(dir.path(), alg);
        let spec = if alg == "HS256" {
            format!("@{}", key.display())
        } else {
            key.display().to_string()
        };
        let (code, token, err) = cli(&[
            "mint",
            "--key",
            &spec,
            "--alg",
            alg,
            "--sk",
            "1234abcdef",
            "--claim",
            "u=john",
            "--claim",
            "id=1",
            "--claim",
            "foo=bar",
        ]);
        assert_eq!(code, 0, "{alg}: {err}");
        let token = token.trim();
        let secret = std::fs::read_to_string(&key).unwrap();
        // One argument: a generated secret may start with `-`, which
        // argparse would take for an option after a separate `--secret`.
        let secret_arg = format!("--secret={}", secret.trim_end());
        let key_args: Vec<&str> = if alg == "HS256" {
            vec![&secret_arg]
        } else {
            vec!["--public", s(&public)]
        };
        let mut args = vec!["pyjwt-verify", "--alg", alg];
        args.extend(&key_args);
        args.push(token);
        let (code, out) = py(&py_script, &args);
        assert_eq!(code, 0, "PyJWT refused the {alg} token");
        let claims: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(claims["sk"], "1234abcdef", "{alg}");
        assert_eq!(claims["u"], "john");
        assert_eq!(claims["id"], 1);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            28_800
        );
        // PyJWT does check: a token signed by another key is refused.
        let (other, _) = keygen_named(dir.path(), alg, &format!("{alg}-other"));
        let other_spec = if alg == "HS256" {
            format!("@{}", other.display())
        } else {
            other.display().to_string()
        };
        let (_, forged, _) = cli(&[
            "mint",
            "--key",
            &other_spec,
            "--alg",
            alg,
            "--sk",
            "1234abcdef",
        ]);
        let mut args = vec!["pyjwt-verify", "--alg", alg];
        args.extend(&key_args);
        args.push(forged.trim());
        assert_eq!(
            py(&py_script, &args).0,
            1,
            "PyJWT accepted a forged {alg} token"
        );
    }
}

#[test]
fn minted_tokens_verify_in_django_session_jwt() {
    let Some(py_script) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    std::fs::write(&config, DEMO_TOML).unwrap();
    let (private, public) = keygen(dir.path(), "RS256");
    for (alg, mint_key, dsj_key) in [
        ("HS256", SECRET.to_string(), vec!["--secret", SECRET]),
        (
            "RS256",
            private.display().to_string(),
            vec!["--private", s(&private), "--public", s(&public)],
        ),
    ] {
        let (code, token, err) = cli(&[
            "mint",
            "--key",
            &mint_key,
            "--config",
            s(&config),
            "--sk",
            "1234abcdef",
            "--claim",
            "user_id=1",
            "--claim",
            "username=john",
            "--claim",
            "email=john@domain.com",
            "--claim",
            "team=core",
        ]);
        assert_eq!(code, 0, "{alg}: {err}");
        let token = token.trim();
        let mut args = vec!["dsj-verify"];
        args.extend(&dsj_key);
        args.push(token);
        let (code, out) = py(&py_script, &args);
        assert_eq!(code, 0);
        let fields: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            fields["sk"], "1234abcdef",
            "{alg}: verify_jwt refused: {out}"
        );
        for (short, long, value) in [
            ("id", "user_id", Value::from(1)),
            ("u", "username", "john".into()),
            ("e", "email", "john@domain.com".into()),
            ("t", "team", "core".into()),
        ] {
            assert_eq!(fields[short], value, "{alg} {short}");
            assert_eq!(fields[long], value, "{alg} {long}");
        }
        // verify_jwt does check: a tampered token gives {}.
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let (_, other, _) = cli(&["mint", "--key", &mint_key, "--sk", "zzzzzzzzzzzz"]);
        parts[1] = other.trim().split('.').nth(1).unwrap().to_string();
        let tampered = parts.join(".");
        let mut args = vec!["dsj-verify"];
        args.extend(&dsj_key);
        args.push(&tampered);
        assert_eq!(py(&py_script, &args), (0, "{}".to_string()), "{alg}");
    }
}

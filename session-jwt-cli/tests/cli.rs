//! The built `session-jwt` binary, over every subcommand and exit code.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// 2024-01-01 09:00:00 UTC.
const T0: i64 = 1_704_099_600;
const SECRET: &str = "a secret of at least thirty-two bytes, for tests";
const SK: &str = "abcdefgh12345678abcdefgh12345678";

/// The reference app's fields.
/// The reference apps' configuration as shipped for the tool's users.
const DEMO_TOML: &str = include_str!("../../docs/demo.toml");

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_session-jwt"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = bin();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    let out = cmd.output().expect("the binary runs");
    let run = Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "panic for {args:?}: {}",
        run.stderr
    );
    run
}

/// Exit code 1 or 2 with exactly one line on stderr, which contains `reason`.
#[track_caller]
fn assert_refused(r: &Run, code: i32, reason: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one-line reason: {:?}",
        r.stderr
    );
    assert!(r.stderr.contains(reason), "{:?} lacks {reason:?}", r.stderr);
}

fn demo_config(dir: &Path) -> PathBuf {
    let path = dir.join("demo.toml");
    std::fs::write(&path, DEMO_TOML).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A token for john, issued at T0, signed with SECRET.
fn john(dir: &Path) -> String {
    let config = demo_config(dir);
    let r = run(
        &[
            "mint",
            "--now",
            &T0.to_string(),
            "--key",
            SECRET,
            "--config",
            s(&config),
            "--sk",
            SK,
            "--claim",
            "id=1",
            "--claim",
            "username=john",
            "--claim",
            "email=john@domain.com",
            "--claim",
            "t=core",
            "--claim",
            "foo=bar",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_string()
}

fn at(offset: i64) -> String {
    (T0 + offset).to_string()
}

fn inspect_json(args: &[&str], stdin: Option<&str>) -> (i32, Value) {
    let mut all = vec!["inspect", "--json"];
    all.extend_from_slice(args);
    let r = run(&all, stdin);
    (
        r.code,
        serde_json::from_str(&r.stdout).expect("one JSON object"),
    )
}

#[test]
fn inspect_with_the_key_verifies_and_shows_long_names() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let config = demo_config(dir.path());
    let r = run(
        &[
            "inspect",
            &token,
            "--key",
            SECRET,
            "--config",
            s(&config),
            "--now",
            &at(400),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let out = &r.stdout;
    for expected in [
        "token        265 bytes\n",
        "header       {\"alg\":\"HS256\",\"typ\":\"JWT\"}\n",
        "  sk   (session key)  \"abcdefgh12345678abcdefgh12345678\"\n",
        "  id   user_id        1\n",
        "  u    username       \"john\"\n",
        "  e    email          \"john@domain.com\"\n",
        "  t    team           \"core\"\n",
        "  foo                 \"bar\"\n",
        "session key  abcdefgh12345678abcdefgh12345678\n",
        "issued       2024-01-01 09:00:00 UTC (6m 40s ago)\n",
        "expires      2024-01-01 17:00:00 UTC (expires in 7h 53m)\n",
        "half-life    2024-01-01 13:00:00 UTC (in 3h 53m: the app re-issues the cookie on a request after this)\n",
        "lifetime     8h\n",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(
        out.ends_with("signature VERIFIED (HS256): token valid\n"),
        "{out}"
    );
    assert!(!out.contains("invalid"), "absent fields are not shown");
}

#[test]
fn field_options_name_claims_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let r = run(
        &[
            "inspect",
            &token,
            "--field",
            "u=username",
            "--field",
            "e=mail",
            "--now",
            &at(60),
        ],
        None,
    );
    assert_eq!(r.code, 0);
    for row in [
        "  u    username       \"john\"\n",
        "  e    mail           \"john@domain.com\"\n",
        "  id                  1\n",
    ] {
        assert!(r.stdout.contains(row), "{row:?} in {}", r.stdout);
    }
}

#[test]
fn inspect_without_a_key_says_not_verified() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let r = run(&["inspect", &token, "--now", &at(60)], None);
    assert_eq!(r.code, 0);
    let last = r.stdout.lines().last().unwrap();
    assert_eq!(
        last,
        "signature NOT verified (no --key or --jwks given; anyone could have written these claims)"
    );
    assert_eq!(r.stdout.matches("signature").count(), 1, "one verdict line");
}

#[test]
fn tampered_wrong_key_expired_and_not_yet_valid_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let parts: Vec<&str> = token.split('.').collect();
    // The payload of another (validly signed) token with this signature.
    let other = run(
        &[
            "mint",
            "--now",
            &T0.to_string(),
            "--key",
            SECRET,
            "--sk",
            "zzzzzzzzzzzzzzzz",
        ],
        None,
    );
    let other_payload = other.stdout.trim().split('.').nth(1).unwrap().to_string();
    let tampered = format!("{}.{other_payload}.{}", parts[0], parts[2]);
    let r = run(
        &["inspect", &tampered, "--key", SECRET, "--now", &at(60)],
        None,
    );
    assert_refused(&r, 1, "token rejected: bad signature");
    assert!(
        r.stdout
            .ends_with("signature INVALID: token REJECTED: bad signature\n")
    );

    let wrong = "another secret, also of at least thirty-two bytes";
    let r = run(&["inspect", &token, "--key", wrong, "--now", &at(60)], None);
    assert_refused(&r, 1, "token rejected: bad signature");

    let r = run(
        &[
            "inspect",
            &token,
            "--key",
            SECRET,
            "--now",
            &at(8 * 3600 + 180),
        ],
        None,
    );
    assert_refused(&r, 1, "token rejected: token expired");
    assert!(r.stdout.contains("(expired 3m ago)"), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("signature VERIFIED (HS256), but token REJECTED: token expired\n")
    );

    // Expiry is checked without a key too.
    let r = run(&["inspect", &token, "--now", &at(8 * 3600)], None);
    assert_refused(&r, 1, "token expired");
    assert!(r.stdout.ends_with(
        "signature NOT verified (no --key or --jwks given; anyone could have written these claims); token REJECTED: token expired\n"
    ));

    let r = run(
        &["inspect", &token, "--key", SECRET, "--now", &at(-60)],
        None,
    );
    assert_refused(&r, 1, "token issued in the future");
}

#[test]
fn alg_none_and_algorithm_confusion_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let payload = token.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let r = run(&["inspect", &none, "--key", SECRET, "--now", &at(60)], None);
    assert_refused(&r, 1, "unsecured token (alg: none)");
    assert!(r.stdout.contains("signature INVALID"));
    let r = run(&["inspect", &none, "--now", &at(60)], None);
    assert_refused(&r, 1, "unsecured token (alg: none)");

    // HS256 signed with the RSA public key's PEM text as the secret.
    let key = dir.path().join("rsa.pem");
    let public = dir.path().join("rsa.pub");
    let r = run(
        &[
            "keygen",
            "--alg",
            "RS256",
            "--out",
            s(&key),
            "--public-out",
            s(&public),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pem = std::fs::read_to_string(&public).unwrap();
    let forged = run(&["mint", "--key", &pem, "--sk", SK], None);
    assert_eq!(forged.code, 0, "{}", forged.stderr);
    let r = run(
        &["inspect", forged.stdout.trim(), "--key", s(&public)],
        None,
    );
    assert_refused(
        &r,
        1,
        "algorithm HS256 is of another family than the configured keys",
    );
}

#[test]
fn garbage_exits_2_with_one_line() {
    let long = "x".repeat(10_000);
    for (input, reason) in [
        ("garbage", "not a token: not a compact JWS"),
        ("a.b", "not a token: not a compact JWS"),
        ("a.b.c.d", "not a token: not a compact JWS"),
        (
            "!!.e30.e30",
            "not a token: the header is not valid base64url",
        ),
        (
            "bm90IGpzb24.e30.e30",
            "not a token: the header is not valid JSON",
        ),
        (
            "WzFd.e30.e30",
            "not a token: the header is not a JSON object",
        ),
        (
            "e30.bm90IGpzb24.e30",
            "not a token: the payload is not valid JSON",
        ),
        (
            "e30.e30.!!",
            "not a token: the signature is not valid base64url",
        ),
        (
            "Cookie: csrftoken=1; other=2",
            "no cookie named \"sessionid\" (found: csrftoken, other)",
        ),
        (
            "Set-Cookie: sessionid=; Path=/",
            "the cookie \"sessionid\" is empty",
        ),
        (long.as_str(), "not a token"),
    ] {
        for key in [None, Some(SECRET)] {
            let mut args = vec!["inspect", input];
            if let Some(k) = key {
                args.extend(["--key", k]);
            }
            assert_refused(&run(&args, None), 2, reason);
        }
    }
    // A header without alg is never valid, keyed or not.
    assert_refused(
        &run(&["inspect", "e30.e30.e30"], None),
        1,
        "the header has no algorithm",
    );
    assert_refused(
        &run(&["inspect", "e30.e30.e30", "--key", SECRET], None),
        1,
        "the header has no algorithm",
    );
    assert_refused(&run(&["inspect"], Some("")), 2, "no token given");
    assert_refused(
        &run(&["inspect", "-"], Some("\u{0}\u{1}")),
        2,
        "not a token",
    );
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    assert_eq!(run(&["inspect", &token, "--bogus"], None).code, 2);
    assert_eq!(run(&["frobnicate"], None).code, 2);
    assert_eq!(run(&["inspect", &token, "--alg", "HS999"], None).code, 2);
    assert_refused(
        &run(&["inspect", &token, "--key", "./missing.pem"], None),
        2,
        "no such file",
    );
    assert_refused(
        &run(&["inspect", &token, "--key", "short"], None),
        2,
        "at least 32 bytes",
    );
    assert_refused(
        &run(
            &["inspect", &token, "--key", SECRET, "--alg", "RS256"],
            None,
        ),
        2,
        "RS256 does not fit a shared-secret (HMAC) key",
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[cookie]\nnmae = 'x'\n").unwrap();
    assert_refused(
        &run(&["inspect", &token, "--config", s(&bad)], None),
        2,
        "unknown field `nmae`",
    );
    assert_refused(
        &run(&["inspect", &token, "--field", "exp=expires"], None),
        2,
        "registered claim",
    );
    let text = dir.path().join("notakey.txt");
    std::fs::write(&text, "hello").unwrap();
    assert_refused(
        &run(&["inspect", &token, "--key", s(&text)], None),
        2,
        "use --key @",
    );
    assert_eq!(run(&["--help"], None).code, 0);
    assert_eq!(run(&["inspect", "--help"], None).code, 0);
}

#[test]
fn header_lines_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let now = at(60);
    let cookie = format!("Cookie: csrftoken=abc; sessionid={token}; theme=dark");
    let set_cookie = format!(
        "Set-Cookie: sessionid={token}; expires=Mon, 15 Jan 2024 09:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
    );
    let response = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{set_cookie}\r\n\r\nOK");
    for input in [cookie.as_str(), set_cookie.as_str(), token.as_str()] {
        let r = run(&["inspect", input, "--key", SECRET, "--now", &now], None);
        assert_eq!(r.code, 0, "{input}: {}", r.stderr);
        assert!(r.stdout.ends_with("token valid\n"));
        let r = run(&["inspect", "--key", SECRET, "--now", &now], Some(input));
        assert_eq!(r.code, 0, "stdin {input}: {}", r.stderr);
        let r = run(
            &["inspect", "-", "--key", SECRET, "--now", &now],
            Some(&format!("{input}\n")),
        );
        assert_eq!(r.code, 0, "stdin - {input}: {}", r.stderr);
    }
    let r = run(
        &["inspect", "--key", SECRET, "--now", &now],
        Some(&response),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("token        265 bytes (cookie \"sessionid\")\n")
    );

    // Another cookie name, from the option or the configuration.
    let sid = format!("Cookie: sid={token}");
    assert_eq!(
        run(
            &["inspect", &sid, "--cookie-name", "sid", "--now", &now],
            None
        )
        .code,
        0
    );
    let config = dir.path().join("sid.toml");
    std::fs::write(&config, "[cookie]\nname = \"sid\"\n").unwrap();
    assert_eq!(
        run(
            &["inspect", &sid, "--config", s(&config), "--now", &now],
            None
        )
        .code,
        0
    );
    assert_refused(&run(&["inspect", &sid], None), 2, "use --cookie-name");

    // Two session cookies: the first is inspected, with a note.
    let two = format!("Cookie: sessionid={token}; sessionid=x.y.z");
    let r = run(&["inspect", &two, "--key", SECRET, "--now", &now], None);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("2 cookies named \"sessionid\""));
}

#[test]
fn json_output_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let config = demo_config(dir.path());
    let (code, v) = inspect_json(
        &[
            &token,
            "--key",
            SECRET,
            "--config",
            s(&config),
            "--now",
            &at(5 * 3600),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(v["signature"], "verified");
    assert_eq!(v["valid"], true);
    assert_eq!(v["rejected"], Value::Null);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["size"], 265);
    assert_eq!(v["cookie"], Value::Null);
    assert_eq!(v["header"]["alg"], "HS256");
    assert_eq!(v["claims"]["u"], "john");
    assert_eq!(
        v["claims"].get("username"),
        None,
        "claims are the token's own"
    );
    assert_eq!(v["expanded"]["username"], "john");
    assert_eq!(v["expanded"]["user_id"], 1);
    assert_eq!(v["expanded"]["team"], "core");
    assert_eq!(v["long_names"]["t"], "team");
    assert_eq!(v["session_key"], SK);
    assert_eq!(v["now"], T0 + 5 * 3600);
    assert_eq!(v["iat"]["unix"], T0);
    assert_eq!(v["iat"]["utc"], "2024-01-01 09:00:00 UTC");
    assert_eq!(v["exp"]["relative"], "in 3h");
    assert_eq!(v["nbf"], Value::Null);
    assert_eq!(v["half_life"]["utc"], "2024-01-01 13:00:00 UTC");
    assert_eq!(v["half_life"]["passed"], true);
    assert_eq!(v["verdict"], "signature VERIFIED (HS256): token valid");

    let (code, v) = inspect_json(&[&token, "--now", &at(9 * 3600)], None);
    assert_eq!(code, 1);
    assert_eq!(v["signature"], "not_verified");
    assert_eq!(v["valid"], false);
    assert_eq!(v["rejected"], "token expired");
    assert_eq!(v["exp"]["relative"], "1h ago");

    let (code, v) = inspect_json(
        &[
            &format!("Cookie: sessionid={token}"),
            "--key",
            "another secret that is long enough here",
        ],
        None,
    );
    assert_eq!(code, 1);
    assert_eq!(v["signature"], "invalid");
    assert_eq!(v["cookie"], "sessionid");
}

#[test]
fn half_life_is_shown_once_passed() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let r = run(
        &["inspect", &token, "--key", SECRET, "--now", &at(5 * 3600)],
        None,
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(
        "half-life    2024-01-01 13:00:00 UTC (passed 1h ago: the app re-issues the cookie on the next request)"
    ), "{}", r.stdout);
}

#[test]
fn config_file_supplies_key_fields_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let token = john(dir.path());
    let config = dir.path().join("app.toml");
    std::fs::write(
        &config,
        format!("{DEMO_TOML}\n[key]\nsecret = \"{SECRET}\"\n\n[jwt]\nleeway = 120\n"),
    )
    .unwrap();
    let r = run(
        &[
            "inspect",
            &token,
            "--config",
            s(&config),
            "--now",
            &at(8 * 3600 + 60),
        ],
        None,
    );
    assert_eq!(
        r.code, 0,
        "verified with the configured key, within the leeway: {}",
        r.stderr
    );
    assert!(
        r.stdout
            .ends_with("signature VERIFIED (HS256): token valid\n")
    );
    assert!(r.stdout.contains("  u    username       \"john\""));
    // An issuer is required when configured.
    std::fs::write(
        &config,
        format!("[key]\nsecret = \"{SECRET}\"\n[jwt]\nissuer = \"https://app\"\n"),
    )
    .unwrap();
    let r = run(
        &["inspect", &token, "--config", s(&config), "--now", &at(60)],
        None,
    );
    assert_refused(&r, 1, "wrong issuer");
    // mint with the same configuration writes iss, which then verifies.
    let minted = run(
        &["mint", "--config", s(&config), "--sk", SK, "--now", &at(0)],
        None,
    );
    assert_eq!(minted.code, 0, "{}", minted.stderr);
    let (code, v) = inspect_json(
        &[
            minted.stdout.trim(),
            "--config",
            s(&config),
            "--now",
            &at(60),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(v["claims"]["iss"], "https://app");
}

const ALGS: [&str; 9] = [
    "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "ES384", "EdDSA", "RS512",
];

#[test]
fn keygen_writes_keys_that_mint_and_inspect_accept() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ALGS {
        let hmac = alg.starts_with("HS");
        let key = dir.path().join(format!("{alg}.key"));
        let public = dir.path().join(format!("{alg}.pub"));
        let r = run(
            &[
                "keygen",
                "--alg",
                alg,
                "--out",
                s(&key),
                "--public-out",
                s(&public),
                "--json",
            ],
            None,
        );
        assert_eq!(r.code, 0, "{alg}: {}", r.stderr);
        let info: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(info["alg"], alg);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg}");
        }
        let spec = if hmac {
            format!("@{}", key.display())
        } else {
            key.display().to_string()
        };
        let minted = run(
            &[
                "mint", "--key", &spec, "--alg", alg, "--sk", SK, "--claim", "u=john",
            ],
            None,
        );
        assert_eq!(minted.code, 0, "{alg}: {}", minted.stderr);
        let token = minted.stdout.trim();
        let (code, v) = inspect_json(&[token, "--key", &spec, "--alg", alg], None);
        assert_eq!(code, 0, "{alg}: {v}");
        assert_eq!(v["header"]["alg"], alg);
        if hmac {
            assert_eq!(info["jwk"], Value::Null, "an HMAC secret has no public JWK");
            assert!(!public.exists());
            assert_eq!(v["header"].get("kid"), None);
        } else {
            let kid = info["kid"].as_str().unwrap();
            assert_eq!(info["jwk"]["kid"], kid);
            assert_eq!(info["jwk"]["alg"], alg);
            assert_eq!(info["jwk"]["use"], "sig");
            assert_eq!(v["header"]["kid"], kid);
            assert_eq!(
                std::fs::read_to_string(&public).unwrap(),
                info["public_pem"].as_str().unwrap()
            );
            // The public key alone verifies.
            let (code, _) = inspect_json(&[token, "--key", s(&public), "--alg", alg], None);
            assert_eq!(code, 0, "{alg}");
        }
        // Text output and no silent overwrite.
        let again = run(&["keygen", "--alg", alg, "--out", s(&key)], None);
        assert_refused(&again, 2, "already exists (use --force to overwrite)");
        let forced = run(&["keygen", "--alg", alg, "--out", s(&key), "--force"], None);
        assert_eq!(forced.code, 0);
        assert!(forced.stdout.starts_with(&format!("algorithm    {alg}\n")));
        if !hmac {
            assert!(forced.stdout.contains("-----BEGIN PUBLIC KEY-----"));
            assert!(forced.stdout.contains("\"kid\""));
        }
    }
}

#[test]
fn jwks_output_verifies_minted_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut publics = Vec::new();
    let mut tokens = Vec::new();
    for alg in ["RS256", "ES256", "ES384", "EdDSA"] {
        let key = dir.path().join(format!("{alg}.pem"));
        let public = dir.path().join(format!("{alg}.pub.pem"));
        let r = run(
            &[
                "keygen",
                "--alg",
                alg,
                "--out",
                s(&key),
                "--public-out",
                s(&public),
            ],
            None,
        );
        assert_eq!(r.code, 0);
        publics.push(public);
        let minted = run(
            &["mint", "--key", s(&key), "--sk", SK, "--now", &at(0)],
            None,
        );
        tokens.push(minted.stdout.trim().to_string());
    }
    let mut args = vec!["jwks"];
    args.extend(publics.iter().map(|p| s(p)));
    let r = run(&args, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let set: Value = serde_json::from_str(&r.stdout).unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    assert!(
        keys.iter()
            .all(|k| k["kid"].is_string() && k["use"] == "sig" && k.get("d").is_none())
    );
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, &r.stdout).unwrap();
    for token in &tokens {
        let (code, v) = inspect_json(&[token, "--jwks", s(&jwks), "--now", &at(60)], None);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["signature"], "verified");
    }
    // A token of a key outside the set: unknown kid.
    let stranger = dir.path().join("stranger.pem");
    run(&["keygen", "--alg", "ES256", "--out", s(&stranger)], None);
    let minted = run(&["mint", "--key", s(&stranger), "--sk", SK], None);
    assert_refused(
        &run(&["inspect", minted.stdout.trim(), "--jwks", s(&jwks)], None),
        1,
        "unknown key id",
    );

    // PS256: the algorithm is announced with --alg; a private PEM gives its public half.
    let ps = dir.path().join("ps.pem");
    run(&["keygen", "--alg", "PS256", "--out", s(&ps)], None);
    let r = run(&["jwks", s(&ps), "--alg", "PS256"], None);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("\"d\""), "no private member");
    let ps_jwks = dir.path().join("ps.json");
    std::fs::write(&ps_jwks, &r.stdout).unwrap();
    let minted = run(
        &["mint", "--key", s(&ps), "--alg", "PS256", "--sk", SK],
        None,
    );
    assert_eq!(
        run(
            &["inspect", minted.stdout.trim(), "--jwks", s(&ps_jwks)],
            None
        )
        .code,
        0
    );
    // Without --alg the JWKS says RS256, and a PS256 token is refused.
    let r = run(&["jwks", s(&ps)], None);
    std::fs::write(&ps_jwks, &r.stdout).unwrap();
    assert_refused(
        &run(
            &["inspect", minted.stdout.trim(), "--jwks", s(&ps_jwks)],
            None,
        ),
        1,
        "algorithm PS256 is not allowed (the key is for RS256",
    );

    // Not a PEM key: exit 2.
    let secret = dir.path().join("hs.secret");
    run(&["keygen", "--alg", "HS256", "--out", s(&secret)], None);
    assert_refused(&run(&["jwks", s(&secret)], None), 2, "not a PEM key");
    assert_eq!(run(&["jwks"], None).code, 2);
}

#[test]
fn mint_options() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path());
    let cfg = s(&config);
    // Long names are stored under short names; --expires 0 leaves exp out.
    let r = run(
        &[
            "mint",
            "--key",
            SECRET,
            "--config",
            cfg,
            "--claim",
            "username=john",
            "--claim",
            "id=1",
            "--expires",
            "0",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = inspect_json(&[r.stdout.trim(), "--key", SECRET, "--config", cfg], None);
    assert_eq!(code, 0);
    assert_eq!(v["claims"]["u"], "john");
    assert_eq!(v["claims"]["id"], 1);
    assert_eq!(v["claims"].get("exp"), None);
    assert_eq!(
        v["session_key"].as_str().unwrap().len(),
        32,
        "a generated key"
    );
    let r = run(&["inspect", r.stdout.trim(), "--key", SECRET], None);
    assert!(r.stdout.contains("expires      never (no exp claim"));

    let r = run(
        &[
            "mint",
            "--key",
            SECRET,
            "--sk",
            SK,
            "--expires",
            "60",
            "--now",
            &at(0),
        ],
        None,
    );
    let (_, v) = inspect_json(&[r.stdout.trim(), "--now", &at(0)], None);
    assert_eq!(v["exp"]["unix"], T0 + 60);

    assert_refused(
        &run(&["mint", "--key", SECRET, "--claim", "sk=x"], None),
        2,
        "set by mint itself",
    );
    assert_refused(
        &run(&["mint", "--key", SECRET, "--claim", "exp=1"], None),
        2,
        "set by mint itself",
    );
    assert_refused(
        &run(&["mint", "--key", SECRET, "--sk", "bad key!"], None),
        2,
        "--sk",
    );
    assert_refused(&run(&["mint", "--sk", SK], None), 2, "no signing key");
    assert_eq!(
        run(&["mint", "--key", SECRET, "--claim", "novalue"], None).code,
        2
    );

    // Short HMAC secrets: refused unless forced; a forced token is a real
    // HS256 token over that secret.
    let r = run(&["mint", "--key", "only-twenty-bytes-xx", "--sk", SK], None);
    assert_refused(&r, 2, "at least 32 bytes long (RFC 7518 section 3.2)");
    assert!(
        r.stderr.contains("--force"),
        "the message says how to force it"
    );
    assert!(!r.stderr.contains("only-twenty"), "the secret is not shown");
    let r = run(
        &[
            "mint",
            "--key",
            "only-twenty-bytes-xx",
            "--sk",
            SK,
            "--force",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    let token = r.stdout.trim();
    let short = session_jwt_core::Key::hmac_allow_short("only-twenty-bytes-xx").unwrap();
    let codec = session_jwt_core::TokenCodec::new(
        session_jwt_core::KeyRing::verify_only([short]).unwrap(),
        session_jwt_core::Fields::new(vec![], "sk").unwrap(),
        session_jwt_core::TokenSettings::default(),
    )
    .unwrap();
    let claims = codec
        .verify(token, session_jwt_core::time::OffsetDateTime::now_utc())
        .expect("the forced token verifies with the short secret");
    assert_eq!(claims.session_key().expose(), SK);
    let r = run(
        &["mint", "--key", SECRET, "--alg", "HS512", "--sk", SK],
        None,
    );
    assert_refused(&r, 2, "at least 64 bytes");

    // A public key cannot sign.
    let key = dir.path().join("ec.pem");
    let public = dir.path().join("ec.pub");
    run(
        &[
            "keygen",
            "--alg",
            "ES256",
            "--out",
            s(&key),
            "--public-out",
            s(&public),
        ],
        None,
    );
    assert_refused(
        &run(&["mint", "--key", s(&public), "--sk", SK], None),
        2,
        "public key",
    );
}

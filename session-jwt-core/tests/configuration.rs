//! `docs/configuration.md` documents every setting: each field of the
//! settings types (found by serializing them) must be named on the page, and
//! the page's examples must build the same configuration.

use guide_check::blocks;
use serde_json::Value;
use session_jwt_core::{Builder, Settings};

const PAGE: &str = include_str!("../../docs/configuration.md");

/// Every dotted path of a serialized settings value: `cookie.name`, ...
fn paths(prefix: &str, value: &Value, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(_) => paths(&path, v, out),
                _ => out.push(path),
            }
        }
    }
}

#[test]
fn every_setting_is_documented() {
    let mut all = Vec::new();
    paths(
        "",
        &serde_json::to_value(Settings::default()).unwrap(),
        &mut all,
    );
    assert!(all.len() > 25, "the walk found only {all:?}");
    let missing: Vec<&String> = all
        .iter()
        .filter(|p| !PAGE.contains(&format!("| `{p}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "settings missing from docs/configuration.md (add a table row \"| `name` | ...\"): {missing:?}"
    );
}

#[test]
fn the_four_forms_give_the_same_configuration() {
    use session_jwt_core::{Key, SessionJwt};
    // The code block, verbatim.
    let code = || -> Result<SessionJwt, Box<dyn std::error::Error>> {
        let engine = SessionJwt::builder()
            .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
            .with_cookie_name("sid")
            .with_secure(true)
            .with_token_lifetime(3600)
            .with_fields([("id", "id", "user_id"), ("username", "u", "username")])
            .build()?;
        Ok(engine)
    };
    let rust = blocks(PAGE, "rust");
    assert_eq!(rust.len(), 1);
    let this_file = include_str!("configuration.rs");
    for line in rust[0].lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(this_file.contains(line), "the page's code changed: {line}");
    }
    let from_code = code().unwrap();

    let toml_blocks = blocks(PAGE, "toml");
    assert_eq!(toml_blocks.len(), 2);
    let file: Settings = toml::from_str(&toml_blocks[0]).unwrap();
    let rocket: toml::Table = toml::from_str(&toml_blocks[1]).unwrap();
    let rocket: Settings = rocket["default"]["session_jwt"].clone().try_into().unwrap();
    assert_eq!(file, rocket, "the TOML file and Rocket.toml say the same");
    let from_file = Builder::from_settings(file).build().unwrap();

    let env = [
        ("SESSION_JWT_KEY", "a secret of at least thirty-two bytes!"),
        ("SESSION_COOKIE_NAME", "sid"),
        ("SESSION_COOKIE_SECURE", "1"),
        ("SESSION_JWT_EXPIRES", "3600"),
    ];
    assert!(
        PAGE.contains("SESSION_COOKIE_NAME=sid SESSION_COOKIE_SECURE=1 SESSION_JWT_EXPIRES=3600")
    );
    let from_env = session_jwt_core::env::from_vars(|name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
    .with_fields([("id", "id", "user_id"), ("username", "u", "username")])
    .build()
    .unwrap();

    for engine in [&from_file, &from_env] {
        assert_eq!(engine.cookie_settings(), from_code.cookie_settings());
        assert_eq!(engine.codec().settings(), from_code.codec().settings());
        assert_eq!(
            engine.codec().fields().fields(),
            from_code.codec().fields().fields()
        );
    }
}

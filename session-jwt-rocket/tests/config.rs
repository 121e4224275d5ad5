//! Configuration through Rocket's figment: `SessionFairing::from_config`
//! and the `config` module, with good values and each kind of bad one.

mod common;

use common::{Logs, quiet_with};
use rocket::figment::Figment;
use rocket::figment::providers::{Format, Toml};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket, get, routes};
use session_jwt_rocket::core::key::generate;
use session_jwt_rocket::core::{Algorithm, SameSite};
use session_jwt_rocket::{Error, MemoryStore, Session, SessionFairing, Sessions, config};

#[get("/put")]
fn put(session: Session) -> &'static str {
    session.insert("k", "v").unwrap();
    "stored"
}

/// Rocket with this `Rocket.toml` (nested by profile, as Rocket reads it).
fn rocket_with(toml: &str) -> Rocket<Build> {
    quiet_with(Toml::string(toml).nested()).mount("/", routes![put])
}

const SECRET: &str = "a secret of at least thirty-two bytes!";

#[tokio::test]
async fn settings_come_from_rocket_toml() {
    let toml = format!(
        r#"
        [default.session_jwt]
        fields = ["email", ["username", "u", "username"]]
        [default.session_jwt.key]
        secret = "{SECRET}"
        [default.session_jwt.cookie]
        name = "sid"
        age = 600
        secure = true
        same_site = "Strict"
        [default.session_jwt.jwt]
        expires = 60
        "#
    );
    let rocket = rocket_with(&toml).attach(SessionFairing::from_config(MemoryStore::new()));
    let client = Client::tracked(rocket).await.unwrap();
    let engine = client.rocket().state::<Sessions>().unwrap().engine();
    let cookie = engine.cookie_settings();
    assert_eq!((cookie.name.as_str(), cookie.age), ("sid", 600));
    assert!(cookie.secure);
    assert_eq!(cookie.same_site, SameSite::Strict);
    assert_eq!(engine.codec().settings().expires, 60);

    let resp = client.get("/put").dispatch().await;
    let set_cookie = resp.headers().get_one("Set-Cookie").unwrap().to_owned();
    assert!(set_cookie.starts_with("sid=ey"), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age=600") && set_cookie.contains("Secure"));
    assert!(set_cookie.contains("SameSite=Strict"));
}

#[tokio::test]
async fn a_profile_overrides_the_default() {
    let toml = format!(
        r#"
        [default.session_jwt.key]
        secret = "{SECRET}"
        [debug.session_jwt.cookie]
        name = "debug_sid"
        "#
    );
    let client =
        Client::tracked(rocket_with(&toml).attach(SessionFairing::from_config(MemoryStore::new())))
            .await
            .unwrap();
    let engine = client.rocket().state::<Sessions>().unwrap().engine();
    assert_eq!(engine.cookie_settings().name, "debug_sid");
}

#[tokio::test]
async fn a_pem_key_file_signs_and_is_published() {
    let (_, pem) = generate(Algorithm::ES256).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.pem");
    std::fs::write(&path, pem.as_bytes()).unwrap();
    let toml = format!(
        "[default.session_jwt.key]\nprivate_key = {:?}\n",
        path.to_str().unwrap()
    );
    let rocket = rocket_with(&toml)
        .mount("/", vec![session_jwt_rocket::jwks_route()])
        .attach(SessionFairing::from_config(MemoryStore::new()));
    let client = Client::tracked(rocket).await.unwrap();
    let resp = client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(resp.status().code, 200);
    let jwks: serde_json::Value = serde_json::from_str(&resp.into_string().await.unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
}

#[tokio::test]
async fn the_builder_adds_what_only_code_can_give() {
    let toml = format!("[default.session_jwt.key]\nsecret = \"{SECRET}\"\n");
    let fairing = SessionFairing::from_config(MemoryStore::new())
        .with_builder(|b| b.with_cookie_name("from_code"));
    let client = Client::tracked(rocket_with(&toml).attach(fairing))
        .await
        .unwrap();
    let engine = client.rocket().state::<Sessions>().unwrap().engine();
    assert_eq!(engine.cookie_settings().name, "from_code");
}

#[tokio::test]
async fn another_table_can_be_read() {
    let toml = format!("[default.sessions.key]\nsecret = \"{SECRET}\"\n");
    let fairing = SessionFairing::from_config(MemoryStore::new()).with_config_key("sessions");
    assert!(
        Client::tracked(rocket_with(&toml).attach(fairing))
            .await
            .is_ok()
    );
}

/// Each kind of bad configuration: ignite fails, and the log names the
/// setting in full.
#[tokio::test]
async fn bad_configuration_aborts_ignite_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let cases = [
        // no key at all
        (String::new(), "session_jwt.key"),
        // a rule of the core
        (
            format!(
                "[default.session_jwt.key]\nsecret = \"{SECRET}\"\n[default.session_jwt.cookie]\nsame_site = \"None\"\n"
            ),
            "session_jwt.cookie.same_site",
        ),
        // a value that is not one of the choices
        (
            format!(
                "[default.session_jwt.key]\nsecret = \"{SECRET}\"\n[default.session_jwt.cookie]\nsame_site = \"Sometimes\"\n"
            ),
            "session_jwt.cookie.same_site",
        ),
        // a wrong type
        (
            format!(
                "[default.session_jwt.key]\nsecret = \"{SECRET}\"\n[default.session_jwt.cookie]\nage = \"two weeks\"\n"
            ),
            "session_jwt.cookie.age",
        ),
        // an unknown setting (a typo)
        (
            format!(
                "[default.session_jwt.key]\nsecret = \"{SECRET}\"\n[default.session_jwt.cookie]\nnmae = \"sid\"\n"
            ),
            "session_jwt.cookie",
        ),
        // a secret too short
        (
            "[default.session_jwt.key]\nsecret = \"short\"\n".to_owned(),
            "session_jwt.key.secret",
        ),
        // a key file that is not a key
        (
            format!(
                "[default.session_jwt.key]\nprivate_key = {:?}\n",
                garbage.to_str().unwrap()
            ),
            "session_jwt.key.private_key",
        ),
        // a key file that is not there
        (
            "[default.session_jwt.key]\nprivate_key = \"/no/such/key.pem\"\n".to_owned(),
            "session_jwt.key.private_key",
        ),
    ];
    for (toml, setting) in cases {
        let logs = Logs::default();
        let guard = logs.capture();
        let result = rocket_with(&toml)
            .attach(SessionFairing::from_config(MemoryStore::new()))
            .ignite()
            .await;
        drop(guard);
        let err = result.expect_err(&toml);
        assert!(
            matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(_)),
            "{toml}: {err:?}"
        );
        let logged = logs.text();
        assert!(
            logged.contains(&format!("{setting}:")) || logged.contains(&format!("{setting}.")),
            "{toml}: the log does not name {setting}:\n{logged}"
        );
        assert!(!logged.contains("short\""), "a secret was echoed: {logged}");
    }
}

#[test]
fn config_errors_are_typed_and_name_the_setting() {
    let figment = Figment::new().merge(Toml::string(
        "[session_jwt.key]\nsecret = 12345\n[session_jwt.cookie]\nname = \"sid\"\n",
    ));
    match config::settings(&figment, "session_jwt") {
        Err(Error::Config { setting, reason }) => {
            assert_eq!(setting, "session_jwt.key.secret");
            assert!(!reason.contains("12345"), "a secret was echoed: {reason}");
        }
        other => panic!("{other:?}"),
    }
    let figment = Figment::new().merge(Toml::string("[session_jwt.cookie]\nname = \"sid\"\n"));
    let settings = config::settings(&figment, "session_jwt").unwrap();
    assert_eq!(settings.cookie.name, "sid");
    // No table: the defaults (and then `build` asks for a key).
    let settings = config::settings(&Figment::new(), "session_jwt").unwrap();
    assert_eq!(settings.cookie.name, "sessionid");
}

#[tokio::test]
async fn with_builder_on_an_engine_fairing_is_refused() {
    let engine = session_jwt_rocket::SessionJwt::builder()
        .with_key(session_jwt_rocket::Key::hmac(SECRET).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let fairing = SessionFairing::memory(engine).with_builder(|b| b);
    let logs = Logs::default();
    let guard = logs.capture();
    let result = rocket_with("").attach(fairing).ignite().await;
    drop(guard);
    let err = result.expect_err("refused");
    assert!(matches!(
        err.kind(),
        rocket::error::ErrorKind::FailedFairings(_)
    ));
    assert!(logs.text().contains("with_builder"), "{}", logs.text());
}

//! Which user attributes go into the token, under which short and long names
//! (django-session-jwt's `FIELDS`), and the claims provider (its `CALLABLE`).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Claims this library writes itself; no field may use their names.
pub const REGISTERED_CLAIMS: [&str; 8] = ["iat", "exp", "nbf", "iss", "aud", "jti", "sub", "kid"];

/// One user field in the token: the attribute `path` (dots reach nested
/// values: `profile.team`), stored under `short` in the token and expanded to
/// `long` when decoded.
///
/// Deserializes from `"email"`, `["email", "e"]` or `["email", "e", "email"]`,
/// as django-session-jwt's `FIELDS` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FieldRepr", into = "FieldRepr")]
pub struct Field {
    path: String,
    short: String,
    long: String,
}

impl Field {
    /// A field at `path`, stored as `short`, decoded as `long`.
    pub fn new(path: impl Into<String>, short: impl Into<String>, long: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            short: short.into(),
            long: long.into(),
        }
    }

    /// The attribute path.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The name in the token.
    #[must_use]
    pub fn short(&self) -> &str {
        &self.short
    }

    /// The name after decoding.
    #[must_use]
    pub fn long(&self) -> &str {
        &self.long
    }
}

impl From<&str> for Field {
    fn from(path: &str) -> Self {
        Self::new(path, path, path)
    }
}

impl From<(&str, &str)> for Field {
    fn from((path, short): (&str, &str)) -> Self {
        Self::new(path, short, path)
    }
}

impl From<(&str, &str, &str)> for Field {
    fn from((path, short, long): (&str, &str, &str)) -> Self {
        Self::new(path, short, long)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FieldRepr {
    Path(String),
    List(Vec<String>),
}

impl TryFrom<FieldRepr> for Field {
    type Error = String;

    fn try_from(r: FieldRepr) -> Result<Self, String> {
        match r {
            FieldRepr::Path(p) => Ok(Self::new(p.clone(), p.clone(), p)),
            FieldRepr::List(v) => match v.as_slice() {
                [p] => Ok(Self::new(p, p, p)),
                [p, s] => Ok(Self::new(p, s, p)),
                [p, s, l] => Ok(Self::new(p, s, l)),
                _ => Err("a field is \"path\", [path, short] or [path, short, long]".into()),
            },
        }
    }
}

impl From<Field> for FieldRepr {
    fn from(f: Field) -> Self {
        FieldRepr::List(vec![f.path, f.short, f.long])
    }
}

/// The checked field configuration and the session field name.
#[derive(Debug, Clone)]
pub struct Fields {
    fields: Vec<Field>,
    session_field: String,
    /// Per field: whether a user without it was already reported.
    warned: Arc<[std::sync::atomic::AtomicBool]>,
}

impl Fields {
    /// Checks the field list: no two fields share a short or a long name, and
    /// no short name is the session field or a registered claim.
    pub fn new(fields: Vec<Field>, session_field: impl Into<String>) -> Result<Self, ConfigError> {
        let session_field = session_field.into();
        let bad = |reason: String| Err(ConfigError::invalid("fields", reason));
        if session_field.is_empty() || REGISTERED_CLAIMS.contains(&session_field.as_str()) {
            return Err(ConfigError::invalid(
                "session_field",
                format!("{session_field:?} cannot be the session field"),
            ));
        }
        for (i, f) in fields.iter().enumerate() {
            if f.path.is_empty() || f.short.is_empty() || f.long.is_empty() {
                return bad("a field has an empty path or name".into());
            }
            if f.short == session_field || f.long == session_field {
                return bad(format!(
                    "field {:?} uses the session field name {session_field:?}",
                    f.path
                ));
            }
            for name in [&f.short, &f.long] {
                if REGISTERED_CLAIMS.contains(&name.as_str()) {
                    return bad(format!(
                        "field {:?} uses the registered claim name {name:?}",
                        f.path
                    ));
                }
            }
            for g in &fields[..i] {
                if g.short == f.long || g.long == f.short {
                    return bad(format!(
                        "fields {:?} and {:?}: one's short name is the other's long name (decoding would overwrite it)",
                        g.path, f.path
                    ));
                }
                if g.short == f.short {
                    return bad(format!(
                        "fields {:?} and {:?} both have the short name {:?}",
                        g.path, f.path, f.short
                    ));
                }
                if g.long == f.long {
                    return bad(format!(
                        "fields {:?} and {:?} both have the long name {:?}",
                        g.path, f.path, f.long
                    ));
                }
            }
        }
        Ok(Self {
            warned: fields.iter().map(|_| Default::default()).collect(),
            fields,
            session_field,
        })
    }

    /// The fields.
    #[must_use]
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The claim that carries the session key (`sk`).
    #[must_use]
    pub fn session_field(&self) -> &str {
        &self.session_field
    }

    /// The short-named claims for a user, given as its serde value. A path that
    /// the user does not have is left out with a warning, never an error.
    #[must_use]
    pub fn extract(&self, user: &Value) -> Map<String, Value> {
        let mut out = Map::new();
        for (f, warned) in self.fields.iter().zip(self.warned.iter()) {
            match lookup(user, &f.path) {
                Some(v) if !v.is_null() => {
                    out.insert(f.short.clone(), v.clone());
                }
                // Once per field and process: a typo in a path shows at the
                // first token, and a field some users lack (as the reference
                // app's deliberate `invalid`) does not flood the log.
                _ if !warned.swap(true, std::sync::atomic::Ordering::Relaxed) => {
                    tracing::warn!(
                        field = %f.path,
                        "a user has no attribute at this field's path: the claim is left out \
                         (said once per field; check the path for a typo)"
                    );
                }
                _ => {}
            }
        }
        out
    }

    /// Adds the long name beside each short name present (django-session-jwt's
    /// `verify_jwt` keeps both).
    pub fn expand(&self, claims: &mut Map<String, Value>) {
        for f in &self.fields {
            if f.long != f.short
                && let Some(v) = claims.get(&f.short).cloned()
            {
                claims.insert(f.long.clone(), v);
            }
        }
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, part| match v {
        Value::Object(m) => m.get(part),
        Value::Array(a) => a.get(part.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Extra claims for the token (django-session-jwt's `CALLABLE`): receives the
/// user as its serde value, or `None` for an anonymous session.
pub trait ClaimsProvider: Send + Sync + 'static {
    /// The claims to add. Names that clash with the session field, a field's
    /// short name or a registered claim are dropped with a warning.
    fn claims(&self, user: Option<&Value>) -> Map<String, Value>;
}

impl<F> ClaimsProvider for F
where
    F: Fn(Option<&Value>) -> Map<String, Value> + Send + Sync + 'static,
{
    fn claims(&self, user: Option<&Value>) -> Map<String, Value> {
        self(user)
    }
}

#[derive(Clone)]
pub(crate) struct Provider(pub(crate) Option<Arc<dyn ClaimsProvider>>);

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(ClaimsProvider)"
        } else {
            "None"
        })
    }
}

impl Provider {
    /// The provider's claims, minus any that would overwrite a claim of ours.
    pub(crate) fn claims(&self, fields: &Fields, user: Option<&Value>) -> Map<String, Value> {
        let Some(p) = &self.0 else { return Map::new() };
        let mut claims = p.claims(user);
        claims.retain(|name, _| {
            let clash = name == fields.session_field()
                || REGISTERED_CLAIMS.contains(&name.as_str())
                || fields.fields().iter().any(|f| &f.short == name);
            if clash {
                tracing::warn!(claim = %name, "claims provider returned a reserved name; dropped");
            }
            !clash
        });
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn demo() -> Fields {
        Fields::new(
            vec![
                ("id", "id", "user_id").into(),
                ("username", "u", "username").into(),
                ("email", "e", "email").into(),
                ("profile.team", "t", "team").into(),
                ("invalid", "i", "invalid").into(),
            ],
            "sk",
        )
        .unwrap()
    }

    #[test]
    fn extracts_nested_and_skips_missing() {
        let user =
            json!({"id": 1, "username": "john", "email": "j@d.com", "profile": {"team": "core"}});
        let claims = demo().extract(&user);
        assert_eq!(
            Value::Object(claims),
            json!({"id": 1, "u": "john", "e": "j@d.com", "t": "core"})
        );
    }

    #[test]
    fn expands_to_long_names_keeping_short() {
        let mut claims = json!({"id": 1, "u": "john", "sk": "x"})
            .as_object()
            .unwrap()
            .clone();
        demo().expand(&mut claims);
        assert_eq!(
            Value::Object(claims),
            json!({"id": 1, "user_id": 1, "u": "john", "username": "john", "sk": "x"})
        );
    }

    #[test]
    fn rejects_clashing_names() {
        let crossed = Fields::new(vec![("a", "x", "y").into(), ("b", "y", "z").into()], "sk");
        assert!(crossed.unwrap_err().to_string().contains("overwrite"));
        let dup_short = Fields::new(vec![("a", "x").into(), ("b", "x").into()], "sk");
        assert!(dup_short.unwrap_err().to_string().contains("short name"));
        let dup_long = Fields::new(vec![("a", "x", "l").into(), ("b", "y", "l").into()], "sk");
        assert!(dup_long.unwrap_err().to_string().contains("long name"));
        let sk = Fields::new(vec![("a", "sk").into()], "sk");
        assert!(sk.unwrap_err().to_string().contains("session field"));
        for reserved in REGISTERED_CLAIMS {
            let err = Fields::new(vec![("a", reserved).into()], "sk").unwrap_err();
            assert_eq!(err.setting(), "fields");
        }
        assert_eq!(
            Fields::new(vec![], "exp").unwrap_err().setting(),
            "session_field"
        );
    }

    #[test]
    fn deserializes_all_three_forms() {
        let f: Vec<Field> =
            serde_json::from_value(json!(["email", ["username", "u"], ["id", "id", "user_id"]]))
                .unwrap();
        assert_eq!(
            f,
            vec![
                Field::from("email"),
                Field::from(("username", "u")),
                Field::from(("id", "id", "user_id"))
            ]
        );
        assert!(serde_json::from_value::<Field>(json!(["a", "b", "c", "d"])).is_err());
    }

    #[test]
    fn provider_cannot_overwrite_reserved_claims() {
        let fields = demo();
        let p = Provider(Some(Arc::new(|_: Option<&Value>| {
            json!({"foo": "bar", "sk": "evil", "exp": 1, "u": "x"})
                .as_object()
                .unwrap()
                .clone()
        })));
        assert_eq!(
            Value::Object(p.claims(&fields, None)),
            json!({"foo": "bar"})
        );
    }
}

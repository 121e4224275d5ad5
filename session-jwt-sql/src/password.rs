//! Django's default password hasher, `PBKDF2PasswordHasher`:
//! `pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>`.
//!
//! PBKDF2 is OpenSSL's (`PKCS5_PBKDF2_HMAC`), which the core links already:
//! Django's million iterations take about a third of a second there, in a
//! debug build too. Both functions are CPU-bound: call them off the async
//! runtime (`tokio::task::spawn_blocking`), as [`DjangoUsers`] does.
//!
//! [`DjangoUsers`]: crate::DjangoUsers

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The algorithm name of Django's default hasher.
pub const PBKDF2_SHA256: &str = "pbkdf2_sha256";

/// `PBKDF2PasswordHasher.iterations` of Django 5.2 (LTS), used for new hashes
/// unless the hash being replaced says otherwise (see
/// [`DjangoUsers::with_password_iterations`](crate::DjangoUsers::with_password_iterations)).
/// Django 4.2 uses 600,000, 5.0 720,000, 5.1 870,000, 6.0 1,200,000.
pub const DJANGO_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// The fewest iterations a hash may have for its count to be reused for the
/// user's next hash: Django 4.2's default, the oldest Django supported.
pub const MIN_REUSED_ITERATIONS: u32 = 600_000;

/// More iterations than this are refused (a corrupt hash would otherwise
/// hold a thread for minutes).
const MAX_ITERATIONS: u32 = 100_000_000;

/// Django's salt alphabet (`RANDOM_STRING_CHARS`) and length for 128 bits.
const SALT_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SALT_LEN: usize = 22;

/// The parts of a `pbkdf2_sha256` hash.
struct Parsed<'a> {
    iterations: u32,
    salt: &'a str,
    hash: &'a str,
}

fn parse(encoded: &str) -> Option<Parsed<'_>> {
    let mut parts = encoded.splitn(4, '$');
    let (algorithm, iterations, salt, hash) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let iterations: u32 = iterations.parse().ok()?;
    (algorithm == PBKDF2_SHA256 && (1..=MAX_ITERATIONS).contains(&iterations) && !salt.is_empty())
        .then_some(Parsed {
            iterations,
            salt,
            hash,
        })
}

fn derive(password: &str, salt: &str, iterations: u32) -> String {
    let mut key = Zeroizing::new([0u8; 32]);
    openssl::pkcs5::pbkdf2_hmac(
        password.as_bytes(),
        salt.as_bytes(),
        usize::try_from(iterations).unwrap_or(usize::MAX),
        openssl::hash::MessageDigest::sha256(),
        key.as_mut_slice(),
    )
    .expect("PBKDF2-SHA256 into a 32-byte buffer does not fail");
    STANDARD.encode(key.as_slice())
}

/// Whether `password` matches Django's `encoded` hash (Django's
/// `check_password`), compared in constant time. Only `pbkdf2_sha256`
/// hashes are understood; any other (argon2, bcrypt, an unusable password
/// `!...`, an empty column) never matches.
#[must_use]
pub fn check_password(password: &str, encoded: &str) -> bool {
    let Some(p) = parse(encoded) else {
        return false;
    };
    let computed = derive(password, p.salt, p.iterations);
    computed.as_bytes().ct_eq(p.hash.as_bytes()).into()
}

/// A new Django hash of `password` (Django's `make_password` with
/// `PBKDF2PasswordHasher`): a random 22-character salt, `iterations`
/// rounds.
///
/// # Panics
/// If `iterations` is 0, or OpenSSL's random generator fails.
#[must_use]
pub fn make_password(password: &str, iterations: u32) -> String {
    assert!(iterations > 0, "PBKDF2 needs at least one iteration");
    let salt = random_salt();
    let hash = derive(password, &salt, iterations);
    format!("{PBKDF2_SHA256}${iterations}${salt}${hash}")
}

/// The iteration count of a `pbkdf2_sha256` hash.
#[must_use]
pub fn iterations_of(encoded: &str) -> Option<u32> {
    parse(encoded).map(|p| p.iterations)
}

fn random_salt() -> String {
    let mut out = String::with_capacity(SALT_LEN);
    let mut buf = [0u8; 32];
    while out.len() < SALT_LEN {
        openssl::rand::rand_bytes(&mut buf).expect("OpenSSL's random generator failed");
        // Rejection sampling: 248 = 4 * 62, so each character is equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == SALT_LEN {
                break;
            }
            out.push(char::from(SALT_CHARS[usize::from(*b % 62)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_djangos_hashes() {
        // PBKDF2PasswordHasher().encode(password, salt, 1000), by Django 5.2.
        let john = "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$3stk8nYcOvbsUUIWDNMdepEt7hXHqFbJCF4eT8gFor4=";
        assert!(check_password("password", john));
        assert!(!check_password("Password", john));
        assert!(!check_password("", john));
        let unicode = "pbkdf2_sha256$1000$SALTsaltSALTsalt123456$JmiBI++vIeHJy1b9YxiswR+icF7Hu5mShGfI+fmyqAA=";
        assert!(check_password("pässwörd", unicode));
        assert!(!check_password("passwort", unicode));
    }

    #[test]
    fn other_formats_never_match() {
        for encoded in [
            "",
            "!unusable",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA",
            "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$x",
            "pbkdf2_sha256$0$abcdefghijklmnopqrstuv$x",
            "pbkdf2_sha256$-1$abcdefghijklmnopqrstuv$x",
            "pbkdf2_sha256$1000$$x",
            "pbkdf2_sha256$1000000000$abc$x",
            "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv",
        ] {
            assert!(!check_password("password", encoded), "{encoded}");
        }
    }

    #[test]
    fn makes_hashes_django_reads() {
        let a = make_password("secret", 1000);
        let b = make_password("secret", 1000);
        assert_ne!(a, b, "a new salt each time");
        let parts: Vec<&str> = a.split('$').collect();
        assert_eq!(parts[0], "pbkdf2_sha256");
        assert_eq!(parts[1], "1000");
        assert_eq!(parts[2].len(), 22);
        assert!(parts[2].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(parts[3].len(), 44, "base64 of 32 bytes, padded");
        assert!(check_password("secret", &a));
        assert!(!check_password("secreT", &a));
        assert_eq!(iterations_of(&a), Some(1000));
        assert_eq!(iterations_of("argon2$x"), None);
    }
}

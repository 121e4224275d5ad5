//! What an unchanged request allocates: counted with dhat's global
//! allocator around the engine's whole request (load, a read, save), for a
//! logged-in session whose token the verified-token cache has seen.

use serde::Serialize;
use serde_json::json;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{AuthUser, Key, MemoryStore, SessionJwt, StoreError, UserLoader};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[derive(Clone, Serialize)]
struct User {
    id: &'static str,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.into()
    }
    fn session_auth_hash(&self) -> String {
        "h".into()
    }
    // The check an app's user type makes without building either string.
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
        id == self.id && constant_time_eq::constant_time_eq(hash.as_bytes(), b"h")
    }
}

struct Users;

#[async_trait::async_trait]
impl UserLoader for Users {
    type User = User;
    async fn load_user(&self, _: &str) -> Result<Option<User>, StoreError> {
        Ok(Some(User { id: "1" }))
    }
}

#[test]
fn an_unchanged_request_allocates_little() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let engine = SessionJwt::builder()
        .with_key(Key::hmac("0123456789abcdef0123456789abcdef").unwrap())
        .unwrap()
        .with_fields([("id", "id", "user_id")])
        .build()
        .unwrap()
        .with_user_loader(Users);
    let store = MemoryStore::new();
    let cookie = rt.block_on(async {
        let s = engine.load(&store, [], now).await.unwrap();
        s.login(&User { id: "1" }).unwrap();
        s.insert("a", json!("12345")).unwrap();
        let set = engine
            .save(&store, &s, now)
            .await
            .unwrap()
            .set_cookie
            .unwrap();
        set.split(';').next().unwrap().to_string()
    });
    let request = || {
        rt.block_on(async {
            let s = engine.load(&store, [cookie.as_bytes()], now).await.unwrap();
            let _: Option<String> = s.get("a");
            let out = engine.save(&store, &s, now).await.unwrap();
            assert!(out.set_cookie.is_none() && out.vary_cookie);
        })
    };
    request(); // the cache sees the token
    let before = dhat::HeapStats::get().total_blocks;
    request();
    let count = dhat::HeapStats::get().total_blocks - before;
    println!("allocations in an unchanged request: {count}");
    dhat::assert!(count <= 8, "an unchanged request allocated {} times", count);
}

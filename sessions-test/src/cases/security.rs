use std::sync::Arc;

use actix_web::http::StatusCode;
use sessions_core::{
    Key, KeyRing, MAX_COOKIE_SIZE, SessionConfig, SessionKey, SessionMiddleware, SessionStore,
};

use crate::cases::{single, skip};
use crate::{Capabilities, StoreFactory, client};

fn with_keys(store: impl sessions_core::SessionStore, keys: KeyRing) -> SessionMiddleware {
    SessionMiddleware::builder(keys)
        .session(SessionConfig::new(store))
        .build()
        .unwrap()
}

/// Changes one character in the middle of a base64url value to another valid character.
fn flip_middle(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Garbage, tampered, truncated and extended cookies give a fresh session (no error), and the
/// genuine cookie keeps working afterwards.
pub async fn forged_cookies_start_fresh_sessions<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let genuine = c.cookie("id").unwrap();
    let forgeries = [
        "!!not-base64!!".to_owned(),
        flip_middle(&genuine),
        genuine[..genuine.len() / 2].to_owned(),
        format!("{genuine}AA"),
        "A".repeat(200),
        String::new(),
    ];
    for forged in &forgeries {
        c.set_cookie("id", Some(forged));
        let reply = c.get("/get?key=user").await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "forged cookie {forged:?} gave {}",
            reply.status
        );
        assert_eq!(
            reply.json::<Option<String>>(),
            None,
            "forged cookie {forged:?} loaded a session"
        );
        c.ok("/set?key=other&value=1").await;
        let fresh = c.cookie("id").unwrap();
        assert_ne!(&fresh, forged);
        assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
    }
    c.set_cookie("id", Some(&genuine));
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
}

/// A cookie sealed with another key, or naming a record the store no longer has, gives a
/// fresh session.
pub async fn cookie_from_another_key_starts_fresh<F: StoreFactory>(factory: F, caps: Capabilities) {
    let store = Arc::new(factory.make().await);
    let (ours, _) = client(single(SessionConfig::new(Arc::clone(&store)))).await;
    let (theirs, _) = client(single(SessionConfig::new(Arc::clone(&store)))).await;
    theirs.ok("/set?key=user&value=eve").await;
    ours.set_cookie("id", theirs.cookie("id").as_deref());
    assert_eq!(
        ours.ok("/get?key=user").await.json::<Option<String>>(),
        None
    );

    if !caps.server_side {
        return skip(
            "cookie_from_another_key_starts_fresh",
            "a client-side cookie names no record",
        );
    }
    // A genuine cookie whose record is gone (expired, or deleted by an administrator).
    ours.ok("/set?key=user&value=ann").await;
    let id = ours.ok("/id").await.json::<Option<String>>();
    let key = SessionKey::from_bytes(id.expect("server-side sessions have an id")).unwrap();
    store.delete(&key).await.unwrap();
    let reply = ours.ok("/get?key=user").await;
    assert_eq!(
        reply.json::<Option<String>>(),
        None,
        "a deleted record still loaded"
    );
}

/// Key rotation as an operator runs it on a fleet of two instances sharing the store, while
/// every user keeps making requests: each new key is first accepted everywhere, then used for
/// sealing, then the retired key is dropped; three key generations, one instance at a time.
/// Nobody is logged out, each cookie opened by a retired key is re-sealed with the serving
/// instance's current key on that very response (a read), and cookies sealed with a dropped key
/// give fresh sessions.
pub async fn key_rotation_drill<F: StoreFactory>(factory: F, _: Capabilities) {
    const USERS: usize = 6;
    let store = Arc::new(factory.make().await);
    let key = |generation: u8| Key::from([generation; 32]).unwrap();
    let ring = |generations: &[u8]| {
        let mut ring = KeyRing::new(key(generations[0]));
        for &old in &generations[1..] {
            ring = ring.with_old_key(key(old));
        }
        ring
    };
    // One client per instance; users' cookies are carried between them by hand.
    let instance = |generations: &[u8]| client(with_keys(Arc::clone(&store), ring(generations)));
    let mut fleet = [instance(&[1]).await.0, instance(&[1]).await.0];
    let mut current = [1_u8, 1];
    let verifiers = [
        instance(&[1]).await.0,
        instance(&[2]).await.0,
        instance(&[3]).await.0,
    ];

    let mut cookies = Vec::new();
    for user in 0..USERS {
        fleet[0].set_cookie("id", None);
        fleet[0].ok(&format!("/set?key=user&value=u{user}")).await;
        cookies.push(fleet[0].cookie("id").expect("a session cookie"));
    }
    let first_generation = cookies.clone();
    let mut second_generation = Vec::new();

    let schedule: [&[u8]; 6] = [&[1, 2], &[2, 1], &[2], &[2, 3], &[3, 2], &[3]];
    for generations in schedule {
        for serving in 0..fleet.len() {
            fleet[serving] = instance(generations).await.0;
            current[serving] = generations[0];
            for (user, cookie) in cookies.iter_mut().enumerate() {
                let at = (user + serving) % fleet.len();
                let app = &fleet[at];
                app.set_cookie("id", Some(cookie));
                let reply = app.ok("/get?key=user").await;
                let name = reply.json::<Option<String>>();
                assert_eq!(
                    name.as_deref(),
                    Some(format!("u{user}").as_str()),
                    "user {user} logged out at rings {generations:?}"
                );
                *cookie = app.cookie("id").expect("the cookie stays");
                let verifier = &verifiers[usize::from(current[at]) - 1];
                verifier.set_cookie("id", Some(cookie));
                assert!(
                    verifier
                        .ok("/get?key=user")
                        .await
                        .json::<Option<String>>()
                        .is_some(),
                    "user {user}'s cookie was not re-sealed with key {} at rings {generations:?}",
                    current[at]
                );
            }
        }
        if generations == [2] {
            second_generation = cookies.clone();
        }
    }

    let last = &fleet[0];
    for cookie in first_generation.iter().chain(&second_generation) {
        last.set_cookie("id", Some(cookie));
        assert_eq!(
            last.ok("/get?key=user").await.json::<Option<String>>(),
            None,
            "a cookie sealed with a dropped key still opened"
        );
    }
}

/// After rotation, old cookies still open, are re-sealed with the new key, and the new key
/// alone then suffices.
pub async fn key_rotation_reseals_with_the_new_key<F: StoreFactory>(factory: F, _: Capabilities) {
    let store = Arc::new(factory.make().await);
    let old = Key::from([1_u8; 32]).unwrap();
    let new = Key::from([2_u8; 32]).unwrap();
    let (before, _) = client(with_keys(Arc::clone(&store), old.clone().into())).await;
    before.ok("/set?key=user&value=ann").await;
    let old_cookie = before.cookie("id").unwrap();

    let (rotating, _) = client(with_keys(
        Arc::clone(&store),
        KeyRing::new(new.clone()).with_old_key(old),
    ))
    .await;
    rotating.set_cookie("id", Some(&old_cookie));
    let reply = rotating.ok("/get?key=user").await;
    assert_eq!(reply.json::<Option<String>>().as_deref(), Some("ann"));
    let resealed = reply
        .set_cookie("id")
        .expect("a cookie opened with an old key is re-sealed");
    assert_ne!(resealed.cookie.value(), old_cookie);

    let (after, _) = client(with_keys(Arc::clone(&store), new.into())).await;
    after.set_cookie("id", rotating.cookie("id").as_deref());
    assert_eq!(
        after
            .ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
    after.set_cookie("id", Some(&old_cookie));
    assert_eq!(
        after.ok("/get?key=user").await.json::<Option<String>>(),
        None
    );
}

/// Server-side: a large value round-trips and the cookie stays small. Client-side: the largest
/// value that fits is stored, one that does not is a 500 at save time, not a dropped cookie.
pub async fn value_near_the_size_limit<F: StoreFactory>(factory: F, caps: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    if caps.server_side {
        c.ok(&format!("/set_long?key=big&len={}", caps.large_value))
            .await;
        assert!(
            c.cookie("id").unwrap().len() < 200,
            "a server-side cookie should hold only a key"
        );
        assert_eq!(
            c.ok("/get?key=big")
                .await
                .json::<Option<String>>()
                .map(|v| v.len()),
            Some(caps.large_value)
        );
        return;
    }
    let fits = |len: usize| {
        let c = &c;
        async move { c.get(&format!("/set_long?key=big&len={len}")).await }
    };
    let (mut low, mut high) = (0, MAX_COOKIE_SIZE);
    while high - low > 1 {
        let middle = (low + high) / 2;
        if fits(middle).await.status == StatusCode::OK {
            low = middle
        } else {
            high = middle
        }
    }
    assert!(
        low > MAX_COOKIE_SIZE / 2,
        "only {low} bytes fit in a {MAX_COOKIE_SIZE}-byte cookie"
    );
    fits(0).await; // So that storing `low` bytes again is a change and sends a cookie.
    let ok = fits(low).await;
    assert_eq!(ok.status, StatusCode::OK);
    let cookie = ok.set_cookie("id").expect("a cookie").cookie.clone();
    assert!(cookie.name().len() + 1 + cookie.value().len() <= MAX_COOKIE_SIZE);

    let too_big = fits(low + 1).await;
    assert_eq!(too_big.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        too_big.body.is_empty(),
        "the error leaks {:?}",
        too_big.body
    );
    assert!(
        too_big.set_cookies.is_empty(),
        "an oversized cookie was sent"
    );
    assert_eq!(
        c.ok("/get?key=big")
            .await
            .json::<Option<String>>()
            .map(|v| v.len()),
        Some(low)
    );
}

/// A browser may send a stale cookie of the session's name before the live one (a cookie set
/// for a longer path, or left by a sibling domain): every cookie is tried until one loads a
/// live record, so the stale one does not hide the session.
pub async fn a_stale_cookie_does_not_hide_the_live_one<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "a_stale_cookie_does_not_hide_the_live_one",
            "a client-side session cannot go stale before its cookie",
        );
    }
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let live = c.cookie("id").unwrap();
    c.set_cookie("id", None);
    c.ok("/set?key=user&value=eve").await;
    let stale = c.cookie("id").unwrap();
    c.ok("/purge").await;
    let reply = c
        .get_with_cookies("/get?key=user", &format!("id={stale}; id={live}"))
        .await;
    assert_eq!(reply.json::<Option<String>>().as_deref(), Some("ann"));
}

/// A `Cookie` header repeating one stale session cookie 200 times makes one store call, and
/// many distinct stale ones make at most three: a client cannot multiply store calls.
pub async fn repeated_cookies_reach_the_store_a_few_times<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let store = crate::Counting::new(factory.make().await);
    let counts = store.counts();
    let (c, _) = client(single(SessionConfig::new(store))).await;
    let mut stale = Vec::new();
    for _ in 0..5 {
        c.set_cookie("id", None);
        c.ok("/set?key=user&value=eve").await;
        stale.push(c.cookie("id").unwrap());
        c.ok("/purge").await;
    }
    let loads = |header: String| {
        let (c, counts) = (&c, &counts);
        async move {
            let before = counts.reads();
            let reply = c.get_with_cookies("/get?key=user", &header).await;
            assert_eq!(reply.status, StatusCode::OK);
            counts.reads() - before
        }
    };
    let repeated = vec![format!("id={}", stale[0]); 200].join("; ");
    assert_eq!(
        loads(repeated).await,
        1,
        "one value was loaded more than once"
    );
    let distinct = (0..200)
        .map(|i| format!("id={}", stale[i % stale.len()]))
        .collect::<Vec<_>>()
        .join("; ");
    let made = loads(distinct).await;
    assert!(made <= 3, "{made} loads for one request's cookies");
}

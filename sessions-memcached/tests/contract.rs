//! The `SessionStore` contract, run against every server and transport:
//! text protocol (plain and with ASCII authentication) and binary protocol (plain and with SASL).

mod common;

use std::time::Duration;

use sessions_core::testing::force_next_keys;
use sessions_core::{SessionKey, SessionStore, StoreErrorKind, Version};
use sessions_memcached::MemcachedStore;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Generates one `#[tokio::test]` per case for a server, so a failure names its case and target.
macro_rules! contract {
    ($target:ident, $url:expr) => {
        mod $target {
            use super::*;

            fn url() -> String {
                $url
            }

            fn store() -> MemcachedStore {
                common::builder(&url()).build().expect("valid settings")
            }

            contract!(@cases
                round_trip,
                empty_payload_round_trips,
                missing_key_loads_as_none,
                create_never_overwrites,
                update_replaces_payload_and_version,
                stale_version_conflicts,
                update_of_missing_record_conflicts,
                version_zero_never_writes,
                short_ttl_expires,
                sub_second_ttl_is_not_forever,
                touch_extends_ttl_only,
                touch_of_missing_record_is_ok,
                update_resets_ttl,
                delete_removes_record,
                ttl_over_thirty_days_is_kept,
                too_large_is_refused_before_sending,
                too_large_for_the_server_is_too_large,
                foreign_keys_are_corrupt,
            );
        }
    };
    (@cases $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                super::cases::$case(&url(), &store()).await;
            }
        )*
    };
}

contract!(text, common::url(common::PLAIN));
contract!(text_ascii_auth, common::url(common::AUTH));
contract!(binary, common::plain_binary_url());
contract!(binary_sasl, common::url(common::SASL));

mod cases {
    use super::*;

    async fn payload_of(store: &MemcachedStore, key: &SessionKey) -> Option<Vec<u8>> {
        store
            .load(key)
            .await
            .expect("load")
            .map(|loaded| loaded.payload().to_vec())
    }

    pub(super) async fn round_trip(_: &str, store: &MemcachedStore) {
        let payload = common::unique_payload();
        let stored = store.create(&payload, HOUR).await.unwrap();
        assert_eq!(stored.key().len(), 43);
        let loaded = store
            .load(stored.key())
            .await
            .unwrap()
            .expect("a created record loads");
        assert_eq!(loaded.payload(), payload);
        assert_eq!(loaded.version(), stored.version());
    }

    pub(super) async fn empty_payload_round_trips(_: &str, store: &MemcachedStore) {
        let stored = store.create(b"", HOUR).await.unwrap();
        assert_eq!(payload_of(store, stored.key()).await, Some(Vec::new()));
    }

    pub(super) async fn missing_key_loads_as_none(_: &str, store: &MemcachedStore) {
        assert_eq!(store.load(&SessionKey::generate()).await.unwrap(), None);
    }

    pub(super) async fn create_never_overwrites(_: &str, store: &MemcachedStore) {
        let (taken, free) = (SessionKey::generate(), SessionKey::generate());
        force_next_keys([taken.clone(), taken.clone(), free.clone()]);
        let first = store.create(b"first", HOUR).await.unwrap();
        assert_eq!(first.key(), &taken);
        let second = store.create(b"second", HOUR).await.unwrap();
        assert_eq!(second.key(), &free, "the taken key must be skipped");
        assert_eq!(
            payload_of(store, &taken).await.as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(
            payload_of(store, &free).await.as_deref(),
            Some(&b"second"[..])
        );
    }

    pub(super) async fn update_replaces_payload_and_version(_: &str, store: &MemcachedStore) {
        let created = store.create(b"one", HOUR).await.unwrap();
        let updated = store
            .update(created.key(), b"two", HOUR, created.version())
            .await
            .unwrap();
        assert_eq!(updated.key(), created.key());
        assert_ne!(updated.version(), created.version());
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(
            (loaded.payload(), loaded.version()),
            (&b"two"[..], updated.version())
        );
    }

    pub(super) async fn stale_version_conflicts(_: &str, store: &MemcachedStore) {
        let created = store.create(b"one", HOUR).await.unwrap();
        let updated = store
            .update(created.key(), b"two", HOUR, created.version())
            .await
            .unwrap();
        let err = store
            .update(created.key(), b"stale", HOUR, created.version())
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(
            (loaded.payload(), loaded.version()),
            (&b"two"[..], updated.version())
        );
    }

    pub(super) async fn update_of_missing_record_conflicts(_: &str, store: &MemcachedStore) {
        let never_created = SessionKey::generate();
        let err = store
            .update(&never_created, b"x", HOUR, Version::new(1))
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        assert_eq!(
            store.load(&never_created).await.unwrap(),
            None,
            "update must not create"
        );

        let created = store.create(b"one", HOUR).await.unwrap();
        store.delete(created.key()).await.unwrap();
        let err = store
            .update(created.key(), b"two", HOUR, created.version())
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        assert_eq!(store.load(created.key()).await.unwrap(), None);
    }

    /// CAS 0 means "no check" to a binary-protocol SET: it must not become an unconditional write.
    pub(super) async fn version_zero_never_writes(_: &str, store: &MemcachedStore) {
        let created = store.create(b"one", HOUR).await.unwrap();
        let err = store
            .update(created.key(), b"two", HOUR, Version::new(0))
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        assert_eq!(
            payload_of(store, created.key()).await.as_deref(),
            Some(&b"one"[..])
        );
    }

    pub(super) async fn short_ttl_expires(_: &str, store: &MemcachedStore) {
        // Memcached counts whole seconds: a 3 s item lives at least 2 s, and is gone after 5.
        let created = store
            .create(b"brief", Duration::from_secs(3))
            .await
            .unwrap();
        assert!(store.load(created.key()).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(store.load(created.key()).await.unwrap(), None);
    }

    /// 0 means "never expires" to memcached, so 10 ms must round up to 1 s, not down to 0.
    pub(super) async fn sub_second_ttl_is_not_forever(_: &str, store: &MemcachedStore) {
        let created = store
            .create(b"blink", Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(store.load(created.key()).await.unwrap(), None);
    }

    pub(super) async fn touch_extends_ttl_only(_: &str, store: &MemcachedStore) {
        let created = store.create(b"kept", Duration::from_secs(3)).await.unwrap();
        let touched = store.touch(created.key(), HOUR).await.unwrap();
        assert_eq!(&touched, created.key());
        tokio::time::sleep(Duration::from_secs(5)).await;
        let loaded = store
            .load(created.key())
            .await
            .unwrap()
            .expect("touch extended the TTL");
        assert_eq!(loaded.payload(), b"kept");
        assert_eq!(
            loaded.version(),
            created.version(),
            "touch must not change the version"
        );
    }

    pub(super) async fn touch_of_missing_record_is_ok(_: &str, store: &MemcachedStore) {
        let key = SessionKey::generate();
        assert_eq!(store.touch(&key, HOUR).await.unwrap(), key);
        assert_eq!(
            store.load(&key).await.unwrap(),
            None,
            "touch must not create"
        );
    }

    pub(super) async fn update_resets_ttl(_: &str, store: &MemcachedStore) {
        let created = store.create(b"one", HOUR).await.unwrap();
        store
            .update(
                created.key(),
                b"two",
                Duration::from_secs(3),
                created.version(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(store.load(created.key()).await.unwrap(), None);
    }

    pub(super) async fn delete_removes_record(_: &str, store: &MemcachedStore) {
        let created = store.create(b"doomed", HOUR).await.unwrap();
        store.delete(created.key()).await.unwrap();
        assert_eq!(store.load(created.key()).await.unwrap(), None);
        store
            .delete(created.key())
            .await
            .expect("deleting a missing record succeeds");
        store.delete(&SessionKey::generate()).await.unwrap();
    }

    /// Memcached reads over 30 days as an absolute Unix time: sent as relative seconds, a
    /// 31-day TTL would be a date in 1970 and the item would expire at once.
    pub(super) async fn ttl_over_thirty_days_is_kept(_: &str, store: &MemcachedStore) {
        let created = store.create(b"long", 31 * DAY).await.unwrap();
        assert!(
            store.load(created.key()).await.unwrap().is_some(),
            "31-day create"
        );
        let updated = store
            .update(created.key(), b"longer", 400 * DAY, created.version())
            .await
            .unwrap();
        assert!(
            store.load(created.key()).await.unwrap().is_some(),
            "400-day update"
        );
        store.touch(created.key(), 45 * DAY).await.unwrap();
        let loaded = store
            .load(created.key())
            .await
            .unwrap()
            .expect("45-day touch");
        assert_eq!(
            (loaded.payload(), loaded.version()),
            (&b"longer"[..], updated.version())
        );
    }

    pub(super) async fn too_large_is_refused_before_sending(url: &str, _: &MemcachedStore) {
        let store = common::builder(url).max_value_size(1024).build().unwrap();
        let err = store.create(&[7; 1025], HOUR).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge, "{err:?}");
        let created = store
            .create(&[7; 1024], HOUR)
            .await
            .expect("exactly the limit fits");
        let err = store
            .update(created.key(), &[8; 1025], HOUR, created.version())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge, "{err:?}");
    }

    /// With a store limit above the server's (1 MiB items), the server's refusal is `TooLarge`
    /// too, and the (single) connection stays in step for the next requests.
    pub(super) async fn too_large_for_the_server_is_too_large(url: &str, _: &MemcachedStore) {
        let store = common::builder(url)
            .max_value_size(4 * 1024 * 1024)
            .build()
            .unwrap();
        let err = store
            .create(&vec![1; 2 * 1024 * 1024], HOUR)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge, "{err:?}");
        let created = store.create(b"small", HOUR).await.unwrap();
        assert_eq!(
            payload_of(&store, created.key()).await.as_deref(),
            Some(&b"small"[..])
        );
        let err = store
            .update(
                created.key(),
                &vec![2; 2 * 1024 * 1024],
                HOUR,
                created.version(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge, "{err:?}");
        // Memcached drops the old item when it refuses a new value for the key (so that it never
        // serves stale data): the session is gone, not left at its old state.
        assert_eq!(payload_of(&store, created.key()).await, None);
        let other = store.create(b"next", HOUR).await.unwrap();
        assert_eq!(
            payload_of(&store, other.key()).await.as_deref(),
            Some(&b"next"[..])
        );
    }

    /// Keys this store cannot have issued are corrupt: no request is sent for them.
    pub(super) async fn foreign_keys_are_corrupt(_: &str, store: &MemcachedStore) {
        for bytes in [
            vec![0xff, 0xfe],
            b"with space".to_vec(),
            b"line\r\nbreak".to_vec(),
            vec![b'k'; 300],
        ] {
            let key = SessionKey::from_bytes(bytes).unwrap();
            assert_eq!(
                store.load(&key).await.unwrap_err().kind(),
                StoreErrorKind::Corrupt
            );
            let err = store
                .update(&key, b"x", HOUR, Version::new(1))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Corrupt);
            assert_eq!(
                store.touch(&key, HOUR).await.unwrap_err().kind(),
                StoreErrorKind::Corrupt
            );
            assert_eq!(
                store.delete(&key).await.unwrap_err().kind(),
                StoreErrorKind::Corrupt
            );
        }
    }
}

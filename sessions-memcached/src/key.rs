//! Memcached keys: the configured prefix plus the session key, checked against the protocol's rules.

use std::fmt;

use sessions_core::{SessionKey, StoreError};

/// The longest key memcached accepts, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 250;

/// The length of a generated [`SessionKey`].
const GENERATED_KEY_LEN: usize = 43;

/// Whether `byte` may appear in a memcached key: the text protocol splits on whitespace and ends
/// commands at control characters, so keys are printable ASCII (the binary protocol could carry
/// more, but both transports use the same keys so that a store can switch protocols).
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_graphic()
}

/// Why a key prefix was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrefixProblem {
    NotPrintableAscii,
    TooLong { len: usize },
}

impl fmt::Display for PrefixProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPrintableAscii => f.write_str(
                "it may only contain printable ASCII characters (no spaces or control characters)",
            ),
            Self::TooLong { len } => write!(
                f,
                "it is {len} bytes, and with a {GENERATED_KEY_LEN}-byte session key it must fit memcached's {MAX_KEY_LEN}-byte key limit"
            ),
        }
    }
}

/// Checks a prefix once, when the store is built.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), PrefixProblem> {
    if !prefix.bytes().all(is_key_byte) {
        return Err(PrefixProblem::NotPrintableAscii);
    }
    if prefix.len() + GENERATED_KEY_LEN > MAX_KEY_LEN {
        return Err(PrefixProblem::TooLong { len: prefix.len() });
    }
    Ok(())
}

/// The memcached key for `key`: `prefix` followed by the session key.
///
/// # Errors
///
/// [`StoreError::corrupt`] for a key this store cannot have issued (not printable ASCII, or too
/// long): nothing is sent to the server.
pub(crate) fn memcached_key(prefix: &str, key: &SessionKey) -> Result<String, StoreError> {
    let Some(text) = key.as_str() else {
        return Err(StoreError::corrupt(
            "the session key is not text, so this store did not issue it",
        ));
    };
    if !text.bytes().all(is_key_byte) || prefix.len() + text.len() > MAX_KEY_LEN {
        return Err(StoreError::corrupt(format!(
            "a {}-byte session key with characters or a length memcached cannot take as a key",
            text.len()
        )));
    }
    Ok(format!("{prefix}{text}"))
}

#[cfg(test)]
mod tests {
    use sessions_core::StoreErrorKind;

    use super::*;

    #[test]
    fn prefixes_generated_keys() {
        let key = SessionKey::generate();
        assert_eq!(
            memcached_key("s:", &key).unwrap(),
            format!("s:{}", key.as_str().unwrap())
        );
    }

    #[test]
    fn foreign_keys_are_corrupt_not_sent() {
        for bytes in [
            vec![0xff],
            b"has space".to_vec(),
            b"new\nline".to_vec(),
            vec![b'a'; 249],
        ] {
            let key = SessionKey::from_bytes(bytes).unwrap();
            assert_eq!(
                memcached_key("p:", &key).unwrap_err().kind(),
                StoreErrorKind::Corrupt
            );
        }
    }

    #[test]
    fn prefix_rules() {
        assert!(check_prefix("").is_ok());
        assert!(check_prefix("myapp:session:").is_ok());
        assert_eq!(
            check_prefix("my app"),
            Err(PrefixProblem::NotPrintableAscii)
        );
        assert_eq!(check_prefix("é"), Err(PrefixProblem::NotPrintableAscii));
        assert!(check_prefix(&"p".repeat(MAX_KEY_LEN - GENERATED_KEY_LEN)).is_ok());
        assert!(matches!(
            check_prefix(&"p".repeat(MAX_KEY_LEN)),
            Err(PrefixProblem::TooLong { .. })
        ));
    }
}

//! [`StoredCookie`]: a cookie as Chromium stored it, read through the DevTools protocol.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// A cookie in Chromium's cookie store (a DevTools `Network.Cookie`), with the attributes
/// Chromium kept: what a test asserts, since a browser silently drops or rewrites what it
/// does not accept.
///
/// ```
/// let cookie: e2e::StoredCookie = serde_json::from_str(
///     r#"{"name":"id","value":"v","domain":"localhost","path":"/","expires":-1,
///         "httpOnly":true,"secure":true,"session":true,"sameSite":"Lax"}"#,
/// )?;
/// assert_eq!(cookie.expires_in(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The host (or domain) it goes back to.
    pub domain: String,
    /// Its `Path`.
    pub path: String,
    /// Expiry in seconds since the Unix epoch; -1 for a cookie that ends with the browser.
    pub expires: f64,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// True when the cookie ends with the browser (no `Max-Age` or `Expires`).
    pub session: bool,
    /// `Strict`, `Lax` or `None`; absent when the cookie named none.
    pub same_site: Option<String>,
    /// Set for a `Partitioned` (CHIPS) cookie: the top-level site it belongs to.
    pub partition_key: Option<PartitionKey>,
}

/// The partition of a `Partitioned` cookie.
///
/// ```
/// let key: e2e::PartitionKey =
///     serde_json::from_str(r#"{"topLevelSite":"http://localhost","hasCrossSiteAncestor":false}"#)?;
/// assert_eq!(key.top_level_site, "http://localhost");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionKey {
    /// The scheme and site of the top-level page, such as `http://localhost`.
    pub top_level_site: String,
    /// Whether a frame between the cookie's page and the top level is cross-site.
    pub has_cross_site_ancestor: bool,
}

impl StoredCookie {
    /// How long until the cookie expires, or `None` if it ends with the browser.
    ///
    /// ```
    /// let cookie: e2e::StoredCookie = serde_json::from_str(
    ///     r#"{"name":"id","value":"v","domain":"localhost","path":"/","expires":4102444800,
    ///         "httpOnly":true,"secure":true,"session":false}"#,
    /// )?;
    /// assert!(cookie.expires_in().unwrap().as_secs() > 0);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub fn expires_in(&self) -> Option<Duration> {
        if self.session {
            return None;
        }
        let expires = UNIX_EPOCH + Duration::from_secs_f64(self.expires.max(0.0));
        Some(
            expires
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

//! [`MongoStoreBuilder`]: where the sessions live and how long a request may wait for MongoDB.

use std::fmt;
use std::time::Duration;

use mongodb::bson::Document;
use mongodb::error::ErrorKind;
use mongodb::options::{
    ClientOptions, CollectionOptions, ConnectionString, ReadPreference, SelectionCriteria,
};
use mongodb::{Client, Collection};

use crate::MongoStore;

// Every default in one place. The driver's own timeouts (30 s server selection, 10 s connect)
// are far too long for a request path.
const DEFAULT_DATABASE: &str = "sessions";
const DEFAULT_COLLECTION: &str = "sessions";
const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures and builds a [`MongoStore`]. Made by [`MongoStore::builder`] or
/// [`MongoStore::builder_with_client`].
///
/// ```no_run
/// use std::time::Duration;
/// use sessions_mongo::MongoStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MongoStore::builder("mongodb://127.0.0.1:27017")
///     .database("app")
///     .collection("web_sessions")
///     .io_timeout(Duration::from_secs(3))
///     .build()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct MongoStoreBuilder {
    source: Source,
    database: String,
    collection: String,
    server_selection_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    io_timeout: Duration,
}

enum Source {
    Url(String),
    Client(Client),
}

impl MongoStoreBuilder {
    pub(crate) fn from_url(url: String) -> Self {
        Self::new(Source::Url(url))
    }

    pub(crate) fn from_client(client: Client) -> Self {
        Self::new(Source::Client(client))
    }

    fn new(source: Source) -> Self {
        Self {
            source,
            database: DEFAULT_DATABASE.to_owned(),
            collection: DEFAULT_COLLECTION.to_owned(),
            server_selection_timeout: None,
            connect_timeout: None,
            io_timeout: DEFAULT_IO_TIMEOUT,
        }
    }

    /// The database the session collection is in. Defaults to `"sessions"`.
    ///
    /// ```
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017").database("app");
    /// ```
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = name.into();
        self
    }

    /// The collection sessions are stored in. Defaults to `"sessions"`.
    ///
    /// ```
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
    ///     .collection("web_sessions");
    /// ```
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = name.into();
        self
    }

    /// How long an operation waits for a usable server before it fails as unavailable.
    ///
    /// Defaults to the URL's `serverSelectionTimeoutMS` if it has one, otherwise 2 s (the
    /// driver's own default, 30 s, would hold a request that long when MongoDB is down).
    /// Only for URLs: a [`Client`](mongodb::Client) passed in keeps its own options.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
    ///     .server_selection_timeout(Duration::from_millis(500));
    /// ```
    pub fn server_selection_timeout(mut self, timeout: Duration) -> Self {
        self.server_selection_timeout = Some(timeout);
        self
    }

    /// How long opening a connection (TCP, TLS and handshake) may take.
    ///
    /// Defaults to the URL's `connectTimeoutMS` if it has one, otherwise 2 s. Only for URLs: a
    /// [`Client`](mongodb::Client) passed in keeps its own options.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
    ///     .connect_timeout(Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one store operation (server selection included) may take in all before it
    /// fails as unavailable. Defaults to 5 s.
    ///
    /// The driver has no per-operation socket timeout, so this is what stops a request from
    /// waiting on a server that accepted the connection but stopped answering.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
    ///     .io_timeout(Duration::from_secs(2));
    /// ```
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// The name [`io_timeout`](Self::io_timeout) had.
    ///
    /// ```
    /// # use std::time::Duration;
    /// #[allow(deprecated)]
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
    ///     .operation_timeout(Duration::from_secs(2));
    /// ```
    #[deprecated(since = "0.1.1", note = "renamed `io_timeout`, as in every store")]
    pub fn operation_timeout(self, timeout: Duration) -> Self {
        self.io_timeout(timeout)
    }

    /// Builds the store. Does not contact the server (except for the DNS look-ups of a
    /// `mongodb+srv://` URL): the driver connects on first use.
    ///
    /// Reads go to the primary whatever the URL's read preference: a session must see its own
    /// writes. Writes use the client's write concern (`w=majority` in the URL, for example).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sessions_mongo::MongoBuildError> {
    /// let store = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017").build().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MongoBuildError`] for an invalid URL, database or collection name, a zero timeout, or a
    /// connection timeout set together with a ready-made client.
    pub async fn build(self) -> Result<MongoStore, MongoBuildError> {
        validate_database_name(&self.database)?;
        validate_collection_name(&self.collection)?;
        self.validate_timeouts()?;
        let client = match self.source {
            Source::Url(url) => {
                let mut options = ClientOptions::parse(&url)
                    .await
                    .map_err(|err| url_error(&url, err))?;
                apply_timeout(
                    &mut options.server_selection_timeout,
                    self.server_selection_timeout,
                    DEFAULT_SERVER_SELECTION_TIMEOUT,
                );
                apply_timeout(
                    &mut options.connect_timeout,
                    self.connect_timeout,
                    DEFAULT_CONNECT_TIMEOUT,
                );
                Client::with_options(options).map_err(MongoBuildError::InvalidUrl)?
            }
            Source::Client(client) => client,
        };
        let options = CollectionOptions::builder()
            .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
            .build();
        let collection: Collection<Document> = client
            .database(&self.database)
            .collection_with_options(&self.collection, options);
        Ok(MongoStore::new(collection, self.io_timeout))
    }

    fn validate_timeouts(&self) -> Result<(), MongoBuildError> {
        let timeouts = [
            ("server_selection_timeout", self.server_selection_timeout),
            ("connect_timeout", self.connect_timeout),
            ("io_timeout", Some(self.io_timeout)),
        ];
        for (setting, timeout) in timeouts {
            if timeout == Some(Duration::ZERO) {
                return Err(MongoBuildError::ZeroTimeout { setting });
            }
            let for_url_only = setting != "io_timeout";
            if for_url_only && timeout.is_some() && matches!(self.source, Source::Client(_)) {
                return Err(MongoBuildError::ClientOptionWithClient { setting });
            }
        }
        Ok(())
    }
}

/// The builder's setting wins over the URL's, and the URL's over the default.
fn apply_timeout(option: &mut Option<Duration>, set: Option<Duration>, default: Duration) {
    *option = Some(set.or(*option).unwrap_or(default));
}

fn validate_database_name(name: &str) -> Result<(), MongoBuildError> {
    // The server's rules: https://www.mongodb.com/docs/manual/reference/limits/#naming-restrictions
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() >= 64 {
        Some("it is 64 bytes or longer")
    } else if name.contains(['/', '\\', '.', ' ', '"', '$', '\0']) {
        Some(r#"it contains one of / \ . " $, a space or a NUL"#)
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MongoBuildError::InvalidDatabaseName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_collection_name(name: &str) -> Result<(), MongoBuildError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['$', '\0']) {
        Some("it contains $ or a NUL")
    } else if name.starts_with("system.") {
        Some("the system. prefix is reserved")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MongoBuildError::InvalidCollectionName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

impl fmt::Debug for MongoStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Url(url) => redact_credentials(url),
            Source::Client(_) => "<client>".to_owned(),
        };
        f.debug_struct("MongoStoreBuilder")
            .field("source", &source)
            .field("database", &self.database)
            .field("collection", &self.collection)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .finish()
    }
}

/// `url` without its secrets, for `Debug` output: the user information (`user:password@`) and
/// the options (which may hold `tlsCertificateKeyFilePassword` or an AWS session token) are
/// replaced, and the hosts and database are shown.
///
/// Errs towards hiding too much. Everything before the *last* `@` goes, because a password
/// with a raw `@` has one more. When that part holds a `?` (a raw one in a password, or an `@`
/// inside an option), what follows the last `@` may be the rest of an option (the driver reads
/// options from the first `?`), so nothing after the scheme is shown.
fn redact_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable URL>".to_owned();
    };
    let (user_info, after) = match rest.rsplit_once('@') {
        Some((user_info, after)) => (Some(user_info), after),
        None => (None, rest),
    };
    if user_info.is_some_and(|info| info.contains('?')) {
        return format!("{scheme}://<redacted>");
    }
    let user_info = if user_info.is_some() {
        "<redacted>@"
    } else {
        ""
    };
    let (hosts_and_path, options) = match after.split_once('?') {
        Some((before, _)) => (before, "?<redacted>"),
        None => (after, ""),
    };
    format!("{scheme}://{user_info}{hosts_and_path}{options}")
}

/// The error for a connection string the driver refused with `err`.
///
/// The driver's messages quote the part they could not read, which may be the user info or an
/// option (a password with a raw `?` is read as options). So the error is the driver's reading
/// of the URL with its secrets replaced (a placeholder user and password, no options): if that
/// fails too, the fault is in the hosts or the database, and the driver's message about them
/// is kept; if it parses, the fault is in what was replaced, and no driver message is kept.
fn url_error(url: &str, err: mongodb::error::Error) -> MongoBuildError {
    let has_secrets = url.contains(['@', '?']);
    if !has_secrets || !matches!(*err.kind, ErrorKind::InvalidArgument { .. }) {
        // Nothing to quote, or not a parse error (a DNS look-up of `mongodb+srv://`).
        return MongoBuildError::InvalidUrl(err);
    }
    let placeholder = redact_credentials(url)
        .replacen("<redacted>@", "user:password@", 1)
        .replacen("?<redacted>", "", 1);
    match ConnectionString::parse(&placeholder) {
        Err(err) if !placeholder.contains("<redacted>") => MongoBuildError::InvalidUrl(err),
        _ => MongoBuildError::InvalidUrlCredentialsOrOptions,
    }
}

/// Why [`MongoStoreBuilder::build`] failed.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let err = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017")
///     .collection("")
///     .build()
///     .await
///     .unwrap_err();
/// assert!(matches!(err, sessions_mongo::MongoBuildError::InvalidCollectionName { .. }));
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MongoBuildError {
    /// The connection string could not be parsed (or, for `mongodb+srv://`, resolved). The
    /// driver's error never quotes the user name, password or options: see
    /// [`InvalidUrlCredentialsOrOptions`](Self::InvalidUrlCredentialsOrOptions).
    InvalidUrl(mongodb::error::Error),
    /// The connection string's user name, password or options could not be parsed. The
    /// driver's message is left out, as it would quote them: a raw `@`, `:`, `/`, `?`, `#` or
    /// `%` in a user name or password must be percent-encoded.
    InvalidUrlCredentialsOrOptions,
    /// MongoDB does not accept this database name.
    InvalidDatabaseName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// MongoDB does not accept this collection name.
    InvalidCollectionName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A timeout was set to zero, which would fail every request.
    ZeroTimeout {
        /// The builder setter: `"server_selection_timeout"`, `"connect_timeout"` or
        /// `"io_timeout"`.
        setting: &'static str,
    },
    /// A connection option was set on a builder made from a ready-made client, which keeps its
    /// own options.
    ClientOptionWithClient {
        /// The builder setter.
        setting: &'static str,
    },
}

impl fmt::Display for MongoBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(_) => f.write_str("invalid MongoDB connection string"),
            Self::InvalidUrlCredentialsOrOptions => f.write_str(
                "invalid MongoDB connection string: its user name, password or options cannot be read \
                 (percent-encode `@ : / ? # %` in a user name or password)",
            ),
            Self::InvalidDatabaseName { name, reason } => {
                write!(f, "invalid MongoDB database name {name:?}: {reason}")
            }
            Self::InvalidCollectionName { name, reason } => {
                write!(f, "invalid MongoDB collection name {name:?}: {reason}")
            }
            Self::ZeroTimeout { setting } => {
                write!(f, "the MongoDB store's {setting} must be longer than zero")
            }
            Self::ClientOptionWithClient { setting } => write!(
                f,
                "{setting} cannot be set when the store is built from a client; set it on the client's options"
            ),
        }
    }
}

impl std::error::Error for MongoBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidUrl(e) => Some(e),
            _ => None,
        }
    }
}

/// The name [`MongoBuildError`] had; type names are unique across the store crates, since one
/// application may use two stores.
#[deprecated(since = "0.1.1", note = "renamed `MongoBuildError`")]
pub type BuildError = MongoBuildError;

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn build(builder: MongoStoreBuilder) -> Result<MongoStore, MongoBuildError> {
        block_on(builder.build())
    }

    #[test]
    fn builds_without_contacting_the_server() {
        let store = build(MongoStore::builder("mongodb://127.0.0.1:1")).unwrap();
        assert_eq!(
            store.collection().namespace().to_string(),
            "sessions.sessions"
        );
        assert_eq!(store.io_timeout(), DEFAULT_IO_TIMEOUT);
    }

    #[test]
    fn rejects_bad_urls() {
        let err = build(MongoStore::builder("postgres://127.0.0.1")).unwrap_err();
        assert!(matches!(err, MongoBuildError::InvalidUrl(_)), "{err:?}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_bad_url_with_credentials_keeps_the_drivers_message_only_about_hosts() {
        let err = build(MongoStore::builder("mongodb://u:p@h:notaport/db")).unwrap_err();
        assert!(matches!(err, MongoBuildError::InvalidUrl(_)), "{err:?}");
        assert!(format!("{err:?}").contains("notaport"), "{err:?}");
        let err = build(MongoStore::builder("mongodb://u:pa?ss@h/db")).unwrap_err();
        assert!(
            matches!(err, MongoBuildError::InvalidUrlCredentialsOrOptions),
            "{err:?}"
        );
        let err = build(MongoStore::builder("mongodb://h/?noSuchOption=s3cret")).unwrap_err();
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
    }

    #[test]
    fn rejects_bad_names() {
        let err = build(MongoStore::builder("mongodb://127.0.0.1").database("a.b")).unwrap_err();
        assert!(
            matches!(err, MongoBuildError::InvalidDatabaseName { .. }),
            "{err:?}"
        );
        let err =
            build(MongoStore::builder("mongodb://127.0.0.1").database("x".repeat(64))).unwrap_err();
        assert!(
            matches!(err, MongoBuildError::InvalidDatabaseName { .. }),
            "{err:?}"
        );
        let err = build(MongoStore::builder("mongodb://127.0.0.1").collection("a$b")).unwrap_err();
        assert!(
            matches!(err, MongoBuildError::InvalidCollectionName { .. }),
            "{err:?}"
        );
        let err =
            build(MongoStore::builder("mongodb://127.0.0.1").collection("system.x")).unwrap_err();
        assert!(
            matches!(err, MongoBuildError::InvalidCollectionName { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_zero_timeouts() {
        let builder = MongoStore::builder("mongodb://127.0.0.1").io_timeout(Duration::ZERO);
        let err = build(builder).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the MongoDB store's io_timeout must be longer than zero"
        );
        #[allow(deprecated)]
        let renamed = MongoStore::builder("mongodb://127.0.0.1").operation_timeout(Duration::ZERO);
        assert!(matches!(
            build(renamed),
            Err(MongoBuildError::ZeroTimeout {
                setting: "io_timeout"
            })
        ));
    }

    #[test]
    fn rejects_connection_options_with_a_client() {
        let err = block_on(async {
            let client = Client::with_uri_str("mongodb://127.0.0.1:1").await.unwrap();
            MongoStore::builder_with_client(client)
                .connect_timeout(Duration::from_secs(1))
                .build()
                .await
        })
        .unwrap_err();
        assert!(matches!(
            err,
            MongoBuildError::ClientOptionWithClient {
                setting: "connect_timeout"
            }
        ));
    }

    #[test]
    fn url_timeouts_win_over_defaults_and_settings_over_urls() {
        let mut option = None;
        apply_timeout(&mut option, None, Duration::from_secs(2));
        assert_eq!(option, Some(Duration::from_secs(2)));
        let mut option = Some(Duration::from_secs(7));
        apply_timeout(&mut option, None, Duration::from_secs(2));
        assert_eq!(option, Some(Duration::from_secs(7)));
        apply_timeout(
            &mut option,
            Some(Duration::from_secs(1)),
            Duration::from_secs(2),
        );
        assert_eq!(option, Some(Duration::from_secs(1)));
    }

    #[test]
    fn debug_hides_credentials() {
        let builder =
            MongoStore::builder("mongodb://app:s3cret@db.example:27017/?authSource=admin");
        let printed = format!("{builder:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(!printed.contains("app:"), "{printed}");
        assert!(
            printed.contains("mongodb://<redacted>@db.example:27017/?<redacted>"),
            "{printed}"
        );
        assert_eq!(
            redact_credentials("mongodb://h1,h2/db"),
            "mongodb://h1,h2/db"
        );
        assert_eq!(
            redact_credentials("mongodb://u:p/w@h/db"),
            "mongodb://<redacted>@h/db"
        );
        // The driver reads options from the first `?`: what follows the last `@` may be one.
        assert_eq!(
            redact_credentials("mongodb://u:p?w@h/db"),
            "mongodb://<redacted>"
        );
        assert_eq!(
            redact_credentials("mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:a@b"),
            "mongodb://<redacted>"
        );
        assert_eq!(
            redact_credentials("mongodb://h/?tlsCertificateKeyFilePassword=x"),
            "mongodb://h/?<redacted>"
        );
    }
}

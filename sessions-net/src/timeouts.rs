//! [`Timeouts`]: how long opening a connection and waiting for a reply may take.

use std::fmt;
use std::time::Duration;

/// The two timeouts of a network store: opening a connection (TCP, TLS, authentication, and
/// waiting for another call's opening on the same thread), and each request's reply.
///
/// Stores name the builder setters after them: `connect_timeout` and `io_timeout`.
///
/// ```
/// use std::time::Duration;
/// use sessions_net::Timeouts;
///
/// let timeouts = Timeouts::new(Duration::from_secs(2), Duration::from_secs(1));
/// assert_eq!(timeouts.connect(), Duration::from_secs(2));
/// assert_eq!(timeouts.io(), Duration::from_secs(1));
/// assert!(timeouts.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    connect: Duration,
    io: Duration,
}

impl Timeouts {
    /// Opening a connection may take `connect`, a reply `io`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeouts = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::from_millis(250));
    /// assert_eq!(timeouts.io(), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub const fn new(connect: Duration, io: Duration) -> Self {
        Self { connect, io }
    }

    /// How long opening a connection may take.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeouts = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::from_secs(3));
    /// assert_eq!(timeouts.connect(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub const fn connect(&self) -> Duration {
        self.connect
    }

    /// How long a request may wait for its reply.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeouts = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::from_secs(3));
    /// assert_eq!(timeouts.io(), Duration::from_secs(3));
    /// ```
    #[must_use]
    pub const fn io(&self) -> Duration {
        self.io
    }

    /// The same with the connect timeout replaced.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeouts = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::from_secs(1))
    ///     .with_connect(Duration::from_secs(5));
    /// assert_eq!(timeouts.connect(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub const fn with_connect(self, connect: Duration) -> Self {
        Self { connect, ..self }
    }

    /// The same with the I/O timeout replaced.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let timeouts = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::from_secs(1))
    ///     .with_io(Duration::from_millis(300));
    /// assert_eq!(timeouts.io(), Duration::from_millis(300));
    /// ```
    #[must_use]
    pub const fn with_io(self, io: Duration) -> Self {
        Self { io, ..self }
    }

    /// Checks that neither timeout is zero, which would fail every request.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let zero = sessions_net::Timeouts::new(Duration::from_secs(1), Duration::ZERO);
    /// assert_eq!(zero.validate().unwrap_err().setting(), "io_timeout");
    /// ```
    ///
    /// # Errors
    ///
    /// [`ZeroTimeout`] naming the setter (`connect_timeout` or `io_timeout`) of the first zero
    /// one.
    pub fn validate(&self) -> Result<(), ZeroTimeout> {
        ZeroTimeout::check("connect_timeout", self.connect)?;
        ZeroTimeout::check("io_timeout", self.io)?;
        Ok(())
    }
}

/// A duration set to zero where zero would fail every request. Names the builder setter.
///
/// ```
/// use std::time::Duration;
/// use sessions_net::ZeroTimeout;
///
/// let err = ZeroTimeout::check("retry_interval", Duration::ZERO).unwrap_err();
/// assert_eq!(err.to_string(), "retry_interval must be longer than zero");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroTimeout {
    setting: &'static str,
}

impl ZeroTimeout {
    /// `duration`, unless it is zero.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let kept = sessions_net::ZeroTimeout::check("io_timeout", Duration::from_secs(1)).unwrap();
    /// assert_eq!(kept, Duration::from_secs(1));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ZeroTimeout`] naming `setting` when `duration` is zero.
    pub const fn check(setting: &'static str, duration: Duration) -> Result<Duration, Self> {
        if duration.is_zero() {
            return Err(Self { setting });
        }
        Ok(duration)
    }

    /// The builder setter of the zero duration, such as `"io_timeout"`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = sessions_net::ZeroTimeout::check("connect_timeout", Duration::ZERO).unwrap_err();
    /// assert_eq!(err.setting(), "connect_timeout");
    /// ```
    #[must_use]
    pub const fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for ZeroTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} must be longer than zero", self.setting)
    }
}

impl std::error::Error for ZeroTimeout {}

//! Real-browser tests: the pages of `examples/auth` and the cookie attributes our configuration
//! allows, in a headless Chromium driven over WebDriver.
//!
//! Chromium and ChromeDriver are Debian's `chromium` and `chromium-driver`, which
//! `scripts/services.sh start` installs; it starts ChromeDriver and exports `CHROMEDRIVER_URL`
//! and `CHROMIUM_BIN`. `scripts/test.sh` does all of that. Each [`Browser`] is a Chromium of its
//! own with a fresh profile; [`Browser::restart`] quits it and starts another on the same
//! profile, as a user closing and reopening the browser.

mod browser;
mod cookie;
mod server;

pub use browser::{Browser, WAIT};
pub use cookie::{PartitionKey, StoredCookie};
pub use server::TestServer;

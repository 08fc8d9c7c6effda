//! The conformance suite against the cookie store.

use sessions_cookie::CookieStore;
use sessions_test::Capabilities;

sessions_test::suite!(|| async { CookieStore::new() }, Capabilities::client_side());

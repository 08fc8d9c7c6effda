//! Credentials that confuse a naive reading of a URL, for store authors' redaction tests: no
//! password, nor any part of one, may appear in what a store prints (`Debug`, errors and their
//! `source()` chains), whatever characters the user name and password hold.

/// The characters that end a URL's user info, path, query or fragment.
pub const SPECIALS: [char; 4] = ['?', '#', '@', '/'];

/// The halves of every user name [`credentials`] makes: markers that appear nowhere else.
pub const USER_PARTS: [&str; 2] = ["usrleft", "usrright"];
/// The halves of every password [`credentials`] makes.
pub const PASSWORD_PARTS: [&str; 2] = ["pwdleft", "pwdright"];

/// `(user, password)` pairs: each of [`SPECIALS`] inside both, and all of them at once.
///
/// ```
/// let pairs = sessions_test::redaction::credentials();
/// assert!(pairs.iter().all(|(user, password)| user.starts_with("usrleft") && password.starts_with("pwdleft")));
/// ```
#[must_use]
pub fn credentials() -> Vec<(String, String)> {
    let split = |parts: [&str; 2], c: &str| format!("{}{c}{}", parts[0], parts[1]);
    let mut pairs: Vec<_> = SPECIALS
        .iter()
        .map(|c| {
            let c = c.to_string();
            (split(USER_PARTS, &c), split(PASSWORD_PARTS, &c))
        })
        .collect();
    pairs.push((split(USER_PARTS, "?#@/"), split(PASSWORD_PARTS, "/@#?")));
    pairs
}

/// `text` with [`SPECIALS`] percent-encoded, as a URL should carry it.
///
/// ```
/// assert_eq!(sessions_test::redaction::encoded("a?b/c"), "a%3Fb%2Fc");
/// ```
#[must_use]
pub fn encoded(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '?' => "%3F".to_owned(),
            '#' => "%23".to_owned(),
            '@' => "%40".to_owned(),
            '/' => "%2F".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Each pair of [`credentials`] as `user:password`, raw and percent-encoded, with whether it is
/// encoded.
///
/// ```
/// assert_eq!(sessions_test::redaction::user_infos().len(), 10);
/// ```
#[must_use]
pub fn user_infos() -> Vec<(String, bool)> {
    credentials()
        .into_iter()
        .flat_map(|(user, password)| {
            [
                (format!("{user}:{password}"), false),
                (format!("{}:{}", encoded(&user), encoded(&password)), true),
            ]
        })
        .collect()
}

/// An error, its `Debug` and every error of its `source()` chain, each in both forms.
///
/// ```
/// let err = std::io::Error::other("refused");
/// assert!(sessions_test::redaction::error_chain(&err).contains("refused"));
/// ```
#[must_use]
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut printed = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(err) = source {
        printed.push_str(&format!(" | {err} {err:?}"));
        source = err.source();
    }
    printed
}

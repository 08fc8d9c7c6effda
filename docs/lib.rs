//! The guides of `docs/`, so that `cargo test --doc` compiles (and runs) their Rust code.

#[doc = include_str!("coming-from-actix-session.md")]
#[derive(Debug)]
pub struct ComingFromActixSession;

#[doc = include_str!("coming-from-gin.md")]
#[derive(Debug)]
pub struct ComingFromGin;

//! Sealing and opening cookie values per mode, and generating session ids.

use std::hint::black_box;

use bench_micro::Realistic;
use criterion::{Criterion, criterion_group, criterion_main};
use sessions_core::testing::{open, seal};
use sessions_core::{CookieSecurity, Key, KeyRing, MsgPack, SessionKey};

fn sealing(c: &mut Criterion) {
    let keys = KeyRing::new(Key::from([7_u8; 64]).expect("64 bytes"));
    let session_id = SessionKey::generate();
    // What the cookie store seals: its 17-byte header and the realistic payload.
    let mut cookie_state = vec![1_u8; 17];
    cookie_state.extend(Realistic::default().encode(&MsgPack));
    let plaintexts = [
        ("session-id", session_id.as_bytes().to_vec()),
        ("cookie-state", cookie_state),
    ];
    let mut group = c.benchmark_group("seal");
    for (mode_name, mode) in [
        ("private", CookieSecurity::Private),
        ("signed", CookieSecurity::Signed),
    ] {
        for (what, plaintext) in &plaintexts {
            let sealed = seal(mode, &keys, "id", plaintext);
            group.bench_function(format!("{mode_name}/{what}/seal"), |b| {
                b.iter(|| seal(mode, &keys, "id", black_box(plaintext)));
            });
            group.bench_function(format!("{mode_name}/{what}/open"), |b| {
                b.iter(|| open(mode, &keys, "id", black_box(&sealed)).expect("opens"));
            });
        }
    }
    group.finish();
    c.bench_function("session-id/generate", |b| b.iter(SessionKey::generate));
}

criterion_group!(benches, sealing);
criterion_main!(benches);

//! Encoding and decoding a realistic session (values plus envelope), per codec.

use std::hint::black_box;

use bench_micro::Realistic;
use criterion::{Criterion, criterion_group, criterion_main};
use sessions_core::{Codec, Json, MsgPack, Postcard};

fn codecs(c: &mut Criterion) {
    let session = Realistic::default();
    let all: [&dyn Codec; 3] = [&MsgPack, &Json, &Postcard];
    let mut group = c.benchmark_group("codec");
    for codec in all {
        let bytes = session.encode(codec);
        println!(
            "codec/{}: realistic session payload is {} bytes",
            codec.name(),
            bytes.len()
        );
        group.bench_function(format!("{}/encode", codec.name()), |b| {
            b.iter(|| black_box(&session).encode(codec));
        });
        group.bench_function(format!("{}/decode", codec.name()), |b| {
            b.iter(|| Realistic::decode(codec, black_box(&bytes)));
        });
    }
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);

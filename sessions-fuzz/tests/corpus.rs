//! Replays every committed corpus file (and every seed) through its target's body: the fuzz
//! findings of the past as regression tests, in a plain `cargo test`.

use std::fs;
use std::path::{Path, PathBuf};

use sessions_fuzz::{TARGETS, seeds::seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn body(name: &str) -> sessions_fuzz::Body {
    TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .expect("a target")
        .1
}

/// Runs the seeds and every file of `fuzz/corpus/<name>/`; returns how many corpus files ran.
fn replay(name: &str) -> usize {
    let body = body(name);
    for seed in seeds(name) {
        body(&seed);
    }
    let dir = fuzz_dir().join("corpus").join(name);
    let entries = fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let input = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        // A panic names the file, to reproduce with `cargo fuzz run <name> <file>`.
        eprintln!("{}", path.display());
        body(&input);
        count += 1;
    }
    count
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let files = replay(stringify!($name));
                assert!(files > 0, "the corpus of {} is empty", stringify!($name));
            }
        )*

        #[test]
        fn every_target_is_replayed_and_has_a_fuzz_target_file() {
            let replayed = [$(stringify!($name)),*];
            let mut targets: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            targets.sort_unstable();
            let mut sorted = replayed.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, targets);
            let mut files: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
                .expect("fuzz/fuzz_targets")
                .map(|entry| entry.expect("an entry").path())
                .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
                .collect();
            files.sort_unstable();
            assert_eq!(files, targets);
        }
    };
}

corpus_tests!(
    cookie_header,
    open_private,
    open_signed,
    payload,
    msgpack_value,
    json_value,
    postcard_value,
    memcached_binary,
    redis_record,
    mongo_document,
    actix_session_cookie,
    actix_session_state,
);

/// Writes the seeds into the corpus directories, to start a new target's corpus:
/// `cargo test -p sessions-fuzz --test corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes files: run by hand for a new target"]
fn write_seeds() {
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        fs::create_dir_all(&dir).expect("creates the corpus directory");
        for (i, seed) in seeds(name).iter().enumerate() {
            fs::write(dir.join(format!("seed-{i}")), seed).expect("writes a seed");
        }
    }
}

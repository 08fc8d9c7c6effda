#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of every decoder of outside bytes, on
# the stable toolchain: `-s none` needs no sanitizer runtime, so no nightly compiler.
#
#   scripts/fuzz.sh TARGET SECONDS   runs one target (fuzz/fuzz_targets/TARGET.rs) that long
#   scripts/fuzz.sh all SECONDS      runs each target in turn, SECONDS each
#   scripts/fuzz.sh list             lists the targets
#
# Extra arguments after SECONDS go to libFuzzer (say `-runs=10000000`). New inputs are added to
# fuzz/corpus/TARGET; a crash is written to fuzz/artifacts/TARGET and reproduced with
# `cargo fuzz run -s none -a TARGET fuzz/artifacts/TARGET/<file>`. Before committing a grown
# corpus, minimise it: `cargo fuzz cmin -s none -a TARGET`. `cargo test -p sessions-fuzz`
# replays every corpus file (the test command does, too).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    sed -n '5,7p' "$0" | sed 's/^# *//' >&2
    exit 2
}

mapfile -t targets < <(find fuzz/fuzz_targets -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)

[[ $# -ge 1 ]] || usage
if [[ $1 == list ]]; then
    printf '%s\n' "${targets[@]}"
    exit 0
fi
[[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage
what=$1
seconds=$2
shift 2

if ! command -v cargo-fuzz >/dev/null; then
    cargo install --locked cargo-fuzz
fi

# -a: debug assertions (and overflow checks) on, so arithmetic slips are found too.
# -timeout: an input that takes 10 s is a hang. Niced: the fuzzer takes a whole core.
run() {
    nice -n 10 cargo fuzz run -s none -a "$1" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${@:2}"
}

if [[ $what == all ]]; then
    for target in "${targets[@]}"; do
        echo "fuzz.sh: $target for ${seconds}s" >&2
        run "$target" "$@"
    done
elif printf '%s\n' "${targets[@]}" | grep -qx -- "$what"; then
    run "$what" "$@"
else
    echo "fuzz.sh: no target $what (scripts/fuzz.sh list)" >&2
    exit 2
fi

#!/usr/bin/env python3
"""Writes the tables of BENCHMARKS.md (and README.md's summary) from the results files (no
dependencies).

    python3 bench/tables.py [bench/results/load.json] [bench/results/scale.json]

Each table sits between `<!-- BEGIN name -->` and `<!-- END name -->` (or replaces a
`<!-- name -->` placeholder); the prose around them is left alone.
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ratio(value):
    return "–" if value is None else f"{value:.2f}"


def load_table(load):
    rows = [
        "| contender | cpu ×base | server µs/req | backend µs/req | req/s | req/s ×bare | p50 µs | p99 µs | peak RSS MiB | verified |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for s in load["summary"]:
        backend = "–" if s["backend"] == "none" else f"{s['backend_cpu_us_per_req']:.1f}"
        rows.append(
            f"| `{s['contender']}` | **{ratio(s['cpu_x_base'])}** | {s['server_cpu_us_per_req']:.1f} | "
            f"{backend} | {s['req_per_s']:,.0f} | {ratio(s['req_per_s_x_base'])} | "
            f"{s['p50_us']:,.0f} | {s['p99_us']:,.0f} | {s['peak_rss_mib']:.1f} | "
            f"{'yes' if s['verified'] else '**no**'} |"
        )
    return "\n".join(rows)


def readme_summary(load):
    """The short table of README.md: ratios and CPU per request, with actix-session beside ours."""
    rows = [
        "| contender | cpu ×base | CPU µs per request (app + backend server) | req/s |",
        "|---|--:|--:|--:|",
    ]
    for s in load["summary"]:
        cpu = s["server_cpu_us_per_req"] + (s["backend_cpu_us_per_req"] or 0)
        rows.append(
            f"| `{s['contender']}` | **{ratio(s['cpu_x_base'])}** | {cpu:.1f} | {s['req_per_s']:,.0f} |"
        )
    return "\n".join(rows)


def machine(load):
    m, st, la = load["machine"], load["settings"], load["load_average_1m"]
    backends = ", ".join(b["version"].split(" sha=")[0] for b in load["backends"])
    pinned = "server and backend on CPU 0, load generator on CPU 1" if st["pinned"] else "not pinned"
    return "\n".join(
        [
            "## The machine and the run",
            "",
            "| | |",
            "|---|---|",
            f"| CPU | {m['cpu']}, {m['cpus']} vCPUs (a KVM virtual machine shared with other work) |",
            f"| kernel | Linux {m['kernel']} |",
            f"| code | commit `{m.get('commit')}` |",
            f"| compiler | {m['rustc']}, release profile |",
            f"| backends | {backends} |",
            f"| run | {m['date']}; {st['rounds']} rounds × {st['measured_seconds']:.0f} s measured after "
            f"{st['warmup_seconds']:.0f} s of warm-up, {st['virtual_users']} users, {pinned} |",
            f"| load average (1 min) | {la['before']} before, {la['after']} after |",
        ]
    )


def memstore_table(scale):
    counts = sorted({r["sessions"] for r in scale["memstore"]})
    rows = [
        "| payload | " + " | ".join(f"{n:,} sessions" for n in counts) + " |",
        "|---|" + "--:|" * len(counts),
    ]
    for label in ("incr", "realistic"):
        mine = {r["sessions"]: r for r in scale["memstore"] if r["payload"] == label}
        first = next(iter(mine.values()))
        cells = " | ".join(f"{mine[n]['bytes_per_session']:.0f} B" for n in counts)
        rows.append(f"| `{label}` ({first['payload_bytes']} B) | {cells} |")
    return "\n".join(rows)


def sweeper(scale):
    s = scale["sweeper"]
    return (
        f"One `sweep()` over {s['sessions']:,} sessions of which {s['expired']:,} had expired took "
        f"**{s['sweep_ms_90pct_expired']:.0f} ms** ({s['sweep_ns_per_entry_90pct_expired']:.0f} ns "
        f"per entry, freeing the expired ones); over the {s['live_after']:,} live ones that remained "
        f"it took {s['sweep_ms_all_live']:.1f} ms. The sweep runs once a minute by default."
    )


def cookie_table(scale):
    rows = [
        "| session | payload | private: cookie | private: `Set-Cookie` | signed: cookie | signed: `Set-Cookie` |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    by = {(r["mode"], r["session"]): r for r in scale["cookie"]}
    for label in ("incr", "realistic", "string-256", "string-1024", "string-2048"):
        p, s = by[("private", label)], by[("signed", label)]
        rows.append(
            f"| `{label}` | {p['payload_bytes']} B | {p['cookie_bytes']} B | "
            f"{p['set_cookie_header_bytes']} B | {s['cookie_bytes']} B | {s['set_cookie_header_bytes']} B |"
        )
    p, s = by[("private", "largest-that-fits")], by[("signed", "largest-that-fits")]
    rows += [
        "",
        f"**The largest session that fits in 4096 bytes** holds a payload of **{p['payload_bytes']} bytes** "
        f"in private mode (one string value of {p['string_len']} characters: a {p['cookie_bytes']}-byte "
        f"cookie) and {s['payload_bytes']} bytes in signed mode. A larger session is a 500 when the "
        "response is saved (`SessionError::CookieTooLarge`), never a silently dropped cookie. "
        "Private mode adds 46 bytes before base64 (the store's 17-byte issued-at/expiry header, the "
        "format byte, the 12-byte nonce and the 16-byte tag): a cookie is about "
        "4/3 × (payload + 46) + 3 bytes.",
    ]
    return "\n".join(rows)


def replace(doc, name, content):
    block = f"<!-- BEGIN {name} -->\n{content}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {name} -->.*?<!-- END {name} -->", re.S)
    if pattern.search(doc):
        return pattern.sub(lambda _: block, doc)
    return doc.replace(f"<!-- {name} -->", block)


def main():
    load_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench/results/load.json")
    scale_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "bench/results/scale.json")
    with open(load_path, encoding="utf-8") as f:
        load = json.load(f)
    with open(scale_path, encoding="utf-8") as f:
        scale = json.load(f)
    readme = os.path.join(ROOT, "README.md")
    with open(readme, encoding="utf-8") as f:
        doc = f.read()
    with open(readme, "w", encoding="utf-8") as f:
        f.write(replace(doc, "README-SUMMARY", readme_summary(load)))
    path = os.path.join(ROOT, "BENCHMARKS.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    for name, content in [
        ("LOAD-TABLE", load_table(load)),
        ("MACHINE", machine(load)),
        ("MEMSTORE", memstore_table(scale)),
        ("SWEEPER", sweeper(scale)),
        ("COOKIE", cookie_table(scale)),
    ]:
        doc = replace(doc, name, content)
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)


if __name__ == "__main__":
    main()

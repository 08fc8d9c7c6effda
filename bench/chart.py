#!/usr/bin/env python3
"""Draws the load benchmark's results file as an SVG bar chart (no dependencies).

    python3 bench/chart.py bench/results/load.json bench/results/load.svg

Left: CPU per request (app server + backend server), lower is better, with each contender's
"cpu x base" ratio (bare's CPU per request divided by the contender's). Right: requests per
second. A bar far longer than the others (a slow backend) is cut at the edge and labelled.
"""

import json
import sys
from html import escape

ROW = 30
LABEL_W = 330
PANEL_W = 330
GAP = 90
TOP = 92
COLORS = {
    "bare": "#9e9e9e",
    "ours": "#1f77b4",
    "ours-backend": "#8fbbd9",
    "actix": "#d62728",
    "actix-backend": "#eda3a3",
}


def family(name):
    if name == "bare":
        return "bare"
    return "actix" if name.startswith("actix-") else "ours"


def axis_max(values):
    """A scale that keeps one outlier from flattening every other bar."""
    ordered = sorted(values, reverse=True)
    if len(ordered) > 1 and ordered[0] > 4 * ordered[1]:
        return ordered[1] * 1.35
    return ordered[0] * 1.1


def text(x, y, content, size=12, anchor="start", weight="normal", fill="#222"):
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(content)}</text>'
    )


def rect(x, y, w, h, fill):
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}"/>'


def cpu_panel(rows, x0):
    out = [text(x0, TOP - 14, "CPU µs per request (server + backend), lower is better", 13, weight="bold")]
    top = axis_max([r["cpu_us_per_req"] for r in rows])
    for i, r in enumerate(rows):
        y = TOP + i * ROW
        fam = family(r["contender"])
        scale = PANEL_W / top
        total = r["cpu_us_per_req"]
        # A cut bar keeps its server/backend proportions.
        bar = min(total, top) * scale
        server = bar * r["server_cpu_us_per_req"] / total
        backend = bar - server
        out.append(rect(x0, y + 5, server, ROW - 10, COLORS[fam]))
        if backend > 0:
            out.append(rect(x0 + server, y + 5, backend, ROW - 10, COLORS[fam + "-backend"] if fam != "bare" else COLORS[fam]))
        ratio = r.get("cpu_x_base")
        label = f"{total:.1f} µs" + (f"  ×{ratio:.2f}" if ratio is not None else "")
        if total > top:
            out.append(text(x0 + PANEL_W - 4, y + ROW / 2 + 4, "≫ " + label, 11, "end", "bold", "#111"))
        else:
            out.append(text(x0 + min(total, top) * scale + 5, y + ROW / 2 + 4, label, 11))
    return out


def rps_panel(rows, x0):
    out = [text(x0, TOP - 14, "requests per second, higher is better", 13, weight="bold")]
    top = max(r["req_per_s"] for r in rows) * 1.1
    for i, r in enumerate(rows):
        y = TOP + i * ROW
        width = r["req_per_s"] / top * PANEL_W
        out.append(rect(x0, y + 5, width, ROW - 10, COLORS[family(r["contender"])]))
        out.append(text(x0 + width + 5, y + ROW / 2 + 4, f"{r['req_per_s']:,.0f}", 11))
    return out


def legend(y):
    items = [
        ("bare actix-web (the limit)", COLORS["bare"]),
        ("this project: app server", COLORS["ours"]),
        ("its backend server", COLORS["ours-backend"]),
        ("actix-session 0.11: app server", COLORS["actix"]),
        ("its backend server", COLORS["actix-backend"]),
    ]
    out, x = [], 20
    for label, color in items:
        out.append(rect(x, y - 10, 12, 12, color))
        out.append(text(x + 17, y, label, 11))
        x += 28 + 6.3 * len(label)
    return out


def chart(results):
    rows = results["summary"]
    settings = results["settings"]
    machine = results["machine"]
    width = LABEL_W + 2 * PANEL_W + GAP + 100
    height = TOP + ROW * len(rows) + 60
    load = results.get("load_average_1m", {})
    subtitle = (
        f"{settings['virtual_users']} users with their own cookie jars, every response verified; "
        f"median of {settings['rounds']} × {settings['measured_seconds']:.0f} s; "
        f"{machine.get('cpu') or 'unknown CPU'}, server and backend pinned to one core; "
        f"load average {load.get('before')}"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        rect(0, 0, width, height, "#fff"),
        text(20, 28, "The /incr app on each session store, side by side", 17, weight="bold"),
        text(20, 48, subtitle, 11, fill="#555"),
    ]
    # Descriptions start after the longest name (bold 12 px: about 7.6 px a character).
    about_x = 30 + 7.6 * max(len(r["contender"]) for r in rows)
    for i, r in enumerate(rows):
        y = TOP + i * ROW
        if i % 2 == 0:
            out.append(rect(10, y, width - 20, ROW, "#f4f6f8"))
        verified = "" if r["verified"] else "  (NOT VERIFIED)"
        out.append(text(20, y + ROW / 2 + 4, r["contender"] + verified, 12, weight="bold"))
        room = int((LABEL_W + 10 - about_x) / 5.6)
        about = r["about"] if len(r["about"]) <= room else r["about"][: room - 1] + "…"
        out.append(text(about_x, y + ROW / 2 + 4, about, 10, fill="#666"))
    out += cpu_panel(rows, LABEL_W + 20)
    out += rps_panel(rows, LABEL_W + PANEL_W + GAP + 20)
    out += legend(TOP + ROW * len(rows) + 32)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RESULTS.json OUT.svg")
    with open(sys.argv[1], encoding="utf-8") as f:
        results = json.load(f)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(chart(results))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SDK-only benchmark: every client against the same synthetic CLI (benches/peer).

Runs each client REPEATS times in fresh processes and reports medians:
events per second into the user's callback (a flood of assistant.message_delta
events), and the tool round trip measured by the peer (external_tool.requested
written until session.tools.handlePendingToolCall read). Writes
benches/results/sdk-only.md and benches/results/sdk-only.png.

Run through benches/run.sh, which builds everything first.
"""
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from chart import bar_panels

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
RESULTS = ROOT / "benches" / "results"
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
TOOL_CALLS = int(os.environ.get("BENCH_TOOL_CALLS", "10000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
ENV = dict(os.environ, LD_LIBRARY_PATH=str(REL))
# The peer on CPU 0 and the client (all its threads) on CPU 1, as in the official
# SDKs' measurements (shared/docs/benchmarks.md): unpinned, where the scheduler
# puts three busy threads on two vCPUs changes results by up to 2x between runs.
PIN = os.environ.get("BENCH_PIN", "1") == "1"
PIN_PEER = ["taskset", "-c", "0"] if PIN else []
PIN_CLIENT = ["taskset", "-c", "1"] if PIN else []

OFFICIAL = ROOT / "target" / "bench-official"
VENV_PYTHON = ROOT / "target" / "bench-venv" / "bin" / "python"

# name -> (command prefix taking "HOST:PORT EXPECTED_EVENTS", events per turn,
# tool calls per turn). The official SDKs get smaller turns: their rates are
# far lower (and their tool calls wait ~44 ms each on Nagle's algorithm).
CLIENTS = {
    "raw C client (floor: frame split, substring checks)": ([str(REL / "raw_client")], EVENTS, TOOL_CALLS),
    "libcopilot C ABI": ([str(REL / "sdk_bench")], EVENTS, TOOL_CALLS),
    # The same client in poll mode: its main thread is the host's event loop.
    "libcopilot C ABI, poll dispatch on a loop thread": (
        ["env", "SDK_BENCH_DISPATCH=poll", str(REL / "sdk_bench")], EVENTS, TOOL_CALLS),
    "libcopilot Go wrapper": ([str(REL / "go_sdkbench")], EVENTS, TOOL_CALLS),
    "libcopilot .NET wrapper (Mono)": (["mono", str(ROOT / "target" / "dotnet" / "Bench.exe"), "peer"], EVENTS // 4, TOOL_CALLS),
    "libcopilot .NET wrapper (Mono), typed Data read per event": (["mono", str(ROOT / "target" / "dotnet" / "Bench.exe"), "peer-typed"], EVENTS // 4, TOOL_CALLS),
    "official Node SDK 1.0.14": (["node", str(OFFICIAL / "node_bench.mjs")], EVENTS // 5, 200),
    "official Rust crate 1.0.29-preview.4": ([str(ROOT / "benches/official/rust/target/release/official-rust-bench")], EVENTS // 5, TOOL_CALLS),
    "official Python SDK 1.0.27": ([str(VENV_PYTHON), str(ROOT / "benches" / "official" / "python_bench.py")], EVENTS // 50, 100),
    "official Go SDK 1.0.14": ([str(REL / "official_go_sdkbench")], EVENTS // 5, TOOL_CALLS),
}

# BENCH_ONLY=a,b keeps the clients whose names contain one of those strings
# (for a closer look at a few rows; results/ is then left as it was).
ONLY = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
if ONLY:
    CLIENTS = {n: c for n, c in CLIENTS.items() if any(s in n for s in ONLY)}


def run_turn(client, events, tool_calls):
    """One fresh peer and one fresh client process; returns (events/s, rtt p50, rtt p99)."""
    peer = subprocess.Popen(
        PIN_PEER + [str(REL / "copilot-bench-peer"), "--events", str(events), "--tool-calls", str(tool_calls)],
        stdout=subprocess.PIPE, text=True)
    try:
        address = peer.stdout.readline().split()[-1]
        args = [address] if client[0].endswith("raw_client") else [address, str(events)]
        out = subprocess.run(PIN_CLIENT + client + args, env=ENV, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{client} failed: {out.stdout}{out.stderr}")
        rate = float(re.search(r"events_per_s=([\d.]+)", out.stdout).group(1))
        # A client that drops events reports how many arrived; the others fail if any is lost.
        got = re.search(r"events=(\d+)", out.stdout)
        delivered = int(got.group(1)) / events if events and got else 1.0
        turn = peer.stdout.readline()
        p50 = float(re.search(r"rtt_p50_us=([\d.]+)", turn).group(1))
        p99 = float(re.search(r"rtt_p99_us=([\d.]+)", turn).group(1))
        return rate, p50, p99, delivered
    finally:
        peer.kill()
        peer.wait()


def measure_all():
    """REPEATS rounds, each running every client once: the machine's slow
    spells (a shared VM's neighbours) then hit every client alike instead of
    whichever one was running."""
    turns = {name: [] for name in CLIENTS}
    rtts = {name: [] for name in CLIENTS}
    for round_ in range(REPEATS):
        for name, (cmd, events, tool_calls) in CLIENTS.items():
            print(f"round {round_ + 1}/{REPEATS}: {name} ...", file=sys.stderr)
            turns[name].append(run_turn(cmd, events, 0))
            rtts[name].append(run_turn(cmd, 0, tool_calls)[1:3])
    return {
        name: {
            "events_per_s": statistics.median(t[0] for t in turns[name]),
            "delivered": min(t[3] for t in turns[name]),
            "rtt_p50": statistics.median(r[0] for r in rtts[name]),
            "rtt_p99": statistics.median(r[1] for r in rtts[name]),
        }
        for name in CLIENTS
    }


def resources():
    peer = subprocess.Popen([str(REL / "copilot-bench-peer")], stdout=subprocess.PIPE, text=True)
    try:
        address = peer.stdout.readline().split()[-1]
        out = subprocess.run([str(REL / "sdk_bench"), address, "resources"], env=ENV,
                             capture_output=True, text=True, timeout=60).stdout
    finally:
        peer.kill()
        peer.wait()
    rss = int(re.search(r"rss_added_kib=(-?\d+)", out).group(1))
    threads = int(re.search(r"threads_added=(-?\d+)", out).group(1))
    stripped = REL / "libcopilot.stripped.so"
    subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(REL / "libcopilot.so")], check=True)
    return rss, threads, stripped.stat().st_size


def main():
    rows = measure_all()
    rss, threads, size = resources()
    floor = rows[next(iter(rows))]
    c = rows["libcopilot C ABI"]
    # None when BENCH_ONLY left the official SDKs out.
    best_official = max((r["events_per_s"] for n, r in rows.items() if n.startswith("official")), default=None)
    vs = lambda r: f"{r['events_per_s'] / best_official:.1f}x" if best_official else "-"

    lines = [
        f"# SDK-only benchmark (synthetic CLI over TCP; medians of {REPEATS} rounds of fresh processes, "
        "each round running every client"
        f"{'; peer pinned to CPU 0, client to CPU 1' if PIN else ''})",
        "",
        f"Events: a turn of assistant.message_delta events ({EVENTS:,} for libcopilot and the floor, fewer "
        "for slower clients). Tool round trip: sequential external_tool.requested events, timed by the "
        "peer from the event's write to the tool result's arrival.",
        "",
        "| client | events/s into the callback | events delivered | vs best official SDK | tool round trip p50 / p99 (µs) | added to the floor's p50 (µs) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['events_per_s']:,.0f} | {r['delivered']:.0%} | {vs(r)} | "
            f"{r['rtt_p50']:,.1f} / {r['rtt_p99']:,.1f} | {r['rtt_p50'] - floor['rtt_p50']:+,.1f} |")
    lines += [
        "",
        "| resource | libcopilot |",
        "|---|---|",
        f"| RSS added to the host (one client, 10 sessions, CLI excluded) | {rss / 1024:.1f} MiB |",
        f"| threads the library starts | {threads} |",
        f"| stripped libcopilot.so | {size / 1024 / 1024:.2f} MiB |",
        "",
        "Targets (issue #7): C callback >= 1,000,000 events/s and >= 5x the best official SDK "
        f"({'met' if best_official and c['events_per_s'] >= 1e6 and c['events_per_s'] >= 5 * best_official else 'not met'}: "
        f"{c['events_per_s']:,.0f}, {vs(c)}); "
        f"added tool round trip p50 < 20 µs ({'met' if c['rtt_p50'] - floor['rtt_p50'] < 20 else 'not met'}: "
        f"{c['rtt_p50'] - floor['rtt_p50']:+.1f}); RSS < 8 MiB ({'met' if rss < 8192 else 'not met'}); "
        f"stripped library < 4 MiB ({'met' if size < 4 * 1024 * 1024 else 'not met'}).",
        "",
    ]
    print("\n".join(lines))
    if ONLY:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sdk-only.md").write_text("\n".join(lines))
    bar_panels(RESULTS / "sdk-only.png", "libcopilot SDK-only benchmark (synthetic CLI over TCP)", rows, [
        ("events_per_s", "events/s into the user's callback, log scale (higher is better)", True),
        ("rtt_p50", "tool round trip p50, µs, log scale (lower is better)", True),
    ], width=12)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end benchmark: every client drives the real Copilot CLI (1.0.102) with
model replies from copilot-replay, in one run, in an isolated home.

Per client process: (a) client start to ready, (b) session create, (c) warm plain
turn (send to idle), (d) warm turn with one tool round trip, (e) CONCURRENT sessions
doing (d) at once (turns/s, p50/p99). PROCESSES fresh processes per client;
medians. The C clients also report (f) start to the first answer (start, create and
the first, cold, plain turn), the peak RSS of the host process and the RSS of the
processes it started, and how many processes there are: the stdio row beside the
in-process one (the runtime library loaded into the host). Writes
benches/results/e2e.md and e2e.png. Run through benches/run.sh.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from chart import bar_panels

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
OFFICIAL = ROOT / "target" / "bench-official"
VENV_PYTHON = ROOT / "target" / "bench-venv" / "bin" / "python"
RESULTS = ROOT / "benches" / "results"
CLI = os.environ["COPILOT_CLI_PATH"]
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "3"))
REPEATS = int(os.environ.get("BENCH_TURNS", "20"))
CONCURRENT = int(os.environ.get("BENCH_CONCURRENT", "50"))

def in_process(opts):
    """The same client options on the in-process transport (no cwd: the runtime shares the host's)."""
    o = json.loads(opts)
    o.pop("cwd", None)
    o["transport"] = "inprocess"
    return json.dumps(o)


CLIENTS = {
    "raw JSON-RPC client (floor, Rust + serde)": lambda opts, sess: [str(REL / "raw-e2e"), CLI, sess],
    "libcopilot C ABI": lambda opts, sess: [str(REL / "e2e_bench"), opts, sess],
    "libcopilot C ABI, in process": lambda opts, sess: [str(REL / "e2e_bench"), in_process(opts), sess],
    "libcopilot Go wrapper": lambda opts, sess: [str(REL / "go_e2ebench"), CLI, sess],
    "libcopilot .NET wrapper (Mono)": lambda opts, sess: ["mono", str(ROOT / "target/dotnet/Bench.exe"), "e2e", CLI, sess],
    "official Node SDK 1.0.14": lambda opts, sess: ["node", str(OFFICIAL / "node_e2e.mjs"), CLI, sess],
    "official Python SDK 1.0.27": lambda opts, sess: [str(VENV_PYTHON), str(ROOT / "benches/official/python_e2e.py"), CLI, sess],
    "official Rust crate 1.0.29-preview.4": lambda opts, sess: [
        str(ROOT / "benches/official/rust/target/release/official-rust-e2e"), CLI, sess],
    "official Go SDK 1.0.14": lambda opts, sess: [str(REL / "official_go_e2e"), CLI, sess],
}

# BENCH_ONLY=a,b keeps the clients whose names contain one of those strings
# (for a closer look at a few rows; results/ is then left as it was).
ONLY = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
if ONLY:
    CLIENTS = {n: c for n, c in CLIENTS.items() if any(s in n for s in ONLY)}


def isolated_env(home):
    env = {k: v for k, v in os.environ.items()
           if not any(s in k.upper() for s in ("TOKEN", "GH_", "GITHUB", "COPILOT"))}
    env.update(HOME=home, COPILOT_HOME=f"{home}/.copilot", XDG_CONFIG_HOME=f"{home}/.config",
               XDG_STATE_HOME=f"{home}/.state", GH_CONFIG_DIR=f"{home}/.gh",
               XDG_CACHE_HOME=os.environ.get("COPILOT_TEST_CACHE", str(ROOT / "target/copilot-cache")),
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost,::1", LD_LIBRARY_PATH=str(REL))
    return env


def run_client(make_cmd, base_url):
    with tempfile.TemporaryDirectory() as home:
        options = json.dumps({"cliPath": CLI, "useLoggedInUser": False, "cwd": home})
        session = json.dumps({"model": "claude-sonnet-4.5", "workingDirectory": home, "provider": {
            "type": "openai", "baseUrl": base_url, "apiKey": "offline", "wireApi": "completions"}})
        cmd = make_cmd(options, session) + [str(REPEATS), str(CONCURRENT)]
        out = subprocess.run(cmd, env=isolated_env(home), cwd=home, capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, len(values) * p // 100)]


def main():
    replay = subprocess.Popen([str(REL / "copilot-replay"), str(ROOT / "tests/conversations/chat.yaml"),
                               str(ROOT / "tests/conversations/weather_tool.yaml")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base_url = replay.stdout.readline().split()[-1] + "/v1"
        # Rounds that run every client once: a slow spell of the machine then
        # hits every client alike instead of whichever one was running.
        all_runs = {name: [] for name in CLIENTS}
        for round_ in range(PROCESSES):
            for name, make_cmd in CLIENTS.items():
                print(f"round {round_ + 1}/{PROCESSES}: {name} ...", file=sys.stderr)
                all_runs[name].append(run_client(make_cmd, base_url))
        rows = {}
        for name, runs in all_runs.items():
            concurrent = [ms for r in runs for ms in r["concurrent_ms"]]
            rows[name] = {
                "start": statistics.median(r["start_ms"] for r in runs),
                "create": statistics.median(r["create_ms"] for r in runs),
                "plain": statistics.median(ms for r in runs for ms in r["plain_ms"]),
                "tool": statistics.median(ms for r in runs for ms in r["tool_ms"]),
                "tps": statistics.median(CONCURRENT / r["concurrent_s"] for r in runs),
                "c50": pct(concurrent, 50),
                "c99": pct(concurrent, 99),
            }
            if all("first_ms" in r for r in runs):
                rows[name].update({
                    "first": statistics.median(r["start_ms"] + r["create_ms"] + r["first_ms"] for r in runs),
                    "rss": statistics.median(r["rss_kb"] for r in runs) / 1024,
                    "child_rss": statistics.median(r["child_rss_kb"] for r in runs) / 1024,
                    "processes": statistics.median(r["processes"] for r in runs),
                })
    finally:
        replay.kill()
        replay.wait()

    official = {n: r for n, r in rows.items() if n.startswith("official")}
    fastest = min(official.values(), key=lambda r: r["tool"]) if official else None
    lines = [
        f"# End-to-end benchmark (real Copilot CLI 1.0.102, copilot-replay; {PROCESSES} rounds of one process per client, "
        f"{REPEATS} warm turns of each kind per process, {CONCURRENT} concurrent sessions)",
        "",
        "| client | (a) start to ready ms | (b) session create ms | (c) plain turn ms | (d) tool turn ms | "
        f"(e) {CONCURRENT} concurrent: turns/s | (e) p50 / p99 ms | (d) vs fastest official |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        ratio = f"{r['tool'] / fastest['tool']:.2f}x" if fastest else "-"
        lines.append(f"| {name} | {r['start']:.0f} | {r['create']:.1f} | {r['plain']:.1f} | {r['tool']:.1f} | "
                     f"{r['tps']:.1f} | {r['c50']:.0f} / {r['c99']:.0f} | {ratio} |")
    c = rows.get("libcopilot C ABI")
    if c and official:
        lines += ["", "Target (issue #7): end-to-end turn latency <= 1.00x the fastest official SDK: "
                  f"plain {c['plain'] / min(r['plain'] for r in official.values()):.2f}x, "
                  f"tool {c['tool'] / fastest['tool']:.2f}x.", ""]
    ip = rows.get("libcopilot C ABI, in process")
    if c and ip:
        start = len(lines)
        lines += ["In process beside stdio (the same C client; issue #21):", "",
                  "| transport | (a) start to ready ms | (b) create ms | (f) start to first answer ms | "
                  "(c) plain ms | (d) tool ms | host peak RSS MiB | RSS of started processes MiB | processes |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for label, r in (("stdio (CLI child)", c), ("in process (runtime.node)", ip)):
            lines.append(f"| {label} | {r['start']:.0f} | {r['create']:.1f} | {r['first']:.0f} | {r['plain']:.1f} | "
                         f"{r['tool']:.1f} | {r['rss']:.0f} | {r['child_rss']:.0f} | {r['processes']:.0f} |")
        lines += ["", "Targets: start to ready <= 0.1x stdio's: "
                  f"{ip['start'] / c['start']:.2f}x; start to first answer <= 0.5x: {ip['first'] / c['first']:.2f}x; "
                  f"warm turns no slower: plain {ip['plain'] / c['plain']:.2f}x, tool {ip['tool'] / c['tool']:.2f}x.", ""]
        # Written by a run of just these two rows too (BENCH_ONLY="libcopilot C ABI").
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "e2e-inprocess.md").write_text("\n".join(
            [f"# {lines[0][2:]}", ""] + lines[start:]))
    print("\n".join(lines))
    if ONLY:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "e2e.md").write_text("\n".join(lines))
    bar_panels(RESULTS / "e2e.png", "libcopilot end-to-end benchmark (real CLI, replayed model)", rows, [
        ("start", "(a) start to ready, ms (lower is better)", False),
        ("plain", "(c) warm plain turn, ms (lower is better)", False),
        ("tool", "(d) warm tool turn, ms (lower is better)", False),
    ], width=14)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Helpers for tests/official-go/run.sh.

  summarize.py needs SDK_GO_MOD OUR_GO_MOD TEST_FILE...
      prints MODULE@VERSION for each module the test files import that the
      SDK's go.mod requires and ours does not (what `go get` must add).
  summarize.py compile BUILD_LOG [GROUPS_OUT]
      summarizes the type errors of `go test -c -gcflags=-e` (GROUPS_OUT:
      every error group, with the files and an example).
  summarize.py files BUILD_LOG
      lists the test files (base names) with errors.
  summarize.py results GO_TEST_JSON [LIST_FILE]
      summarizes `go test -json` output (LIST_FILE: `-test.list` output,
      the top-level tests compiled).
"""
import collections
import json
import os
import re
import subprocess
import sys


# ---------------------------------------------------------------------------
# needs

def go_mod_requires(path):
    out = subprocess.run(["go", "mod", "edit", "-json", path], check=True,
                         capture_output=True, text=True).stdout
    return {r["Path"]: r["Version"] for r in json.loads(out).get("Require") or []}


def imports_of(path):
    src = open(path, encoding="utf-8").read()
    found = set()
    for block in re.findall(r"^import\s*\((.*?)^\)", src, re.S | re.M):
        found.update(re.findall(r'"([^"]+)"', block))
    found.update(re.findall(r'^import\s+(?:\w+\s+)?"([^"]+)"', src, re.M))
    return found


def needs(sdk_mod, our_mod, files):
    theirs, ours = go_mod_requires(sdk_mod), go_mod_requires(our_mod)
    wanted = {}
    for f in files:
        for imp in imports_of(f):
            best = max((m for m in theirs if imp == m or imp.startswith(m + "/")),
                       key=len, default=None)
            if best and best not in ours:
                wanted[best] = theirs[best]
    for m in sorted(wanted):
        print(f"{m}@{wanted[m]}")


# ---------------------------------------------------------------------------
# compile

ERROR_LINE = re.compile(r"^(?P<file>[^\s:][^:]*\.go):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")

# Each pattern names the missing identifier (group "key"), most specific first.
GROUPS = [
    # x.F undefined (type T has no field or method F[, but does have ...])
    (re.compile(r"^\S+ undefined \(type \*?(?P<type>[\w.\[\]*]+) has no field or method (?P<name>\w+)"),
     lambda m: f"{m['type']}.{m['name']}  (no field or method)"),
    (re.compile(r"^undefined: (?P<name>[\w.]+)"), lambda m: f"{m['name']}  (undefined)"),
    (re.compile(r"^unknown field (?P<name>\w+) in struct literal of type \*?(?P<type>[\w.]+)"),
     lambda m: f"{m['type']}.{m['name']}  (unknown field)"),
    # client.RPC.MCP.Config(...) where ours has a namespace struct, theirs a method
    (re.compile(r"^invalid operation: cannot call (?P<expr>\S+) \(\w+ of type \*?(?P<type>[\w.]+)\): .* is not a function"),
     lambda m: f"{m['type']}  (called as a method: {re.sub(r'^[^.]*[.](?=RPC[.])', '', m['expr'])})"),
    (re.compile(r"^invalid composite literal type (?P<type>[\w.]+)"),
     lambda m: f"{m['type']}  (not a struct type here)"),
    (re.compile(r"^too many arguments in call to (?P<name>[\w.]+)"),
     lambda m: f"{re.sub(r'^[^.]*[.](?=RPC[.])', '', m['name'])}  (too many arguments)"),
    (re.compile(r"^not enough arguments in call to (?P<name>[\w.]+)"),
     lambda m: f"{re.sub(r'^[^.]*[.](?=RPC[.])', '', m['name'])}  (not enough arguments)"),
    (re.compile(r"^cannot use .*? \((?:variable|value|constant|struct field)[^()]*? of (?:[\w ]+ )?type (?P<have>.+?)\) as (?P<want>.+?) value in (?P<where>[\w ]+?)(?::|$)"),
     lambda m: f"cannot use {m['have']} as {m['want']}  ({m['where']})"),
    (re.compile(r"\(mismatched types (?P<a>.+?) and (?P<b>[^)]+)\)"),
     lambda m: f"mismatched types {m['a']} and {m['b']}"),
    (re.compile(r"^impossible type (?:switch case|assertion): .*?(?P<type>\*?[\w.]+)"),
     lambda m: f"impossible type switch/assertion {m['type']}"),
]


def group_key(msg):
    for pattern, name in GROUPS:
        m = pattern.search(msg)
        if m:
            return name(m)
    # Otherwise the message with quoted names and numbers blanked out.
    return re.sub(r"\d+", "N", re.sub(r'"[^"]*"', '"…"', msg))


def summarize_compile(log, all_groups=None):
    errors, other = [], []
    for raw in open(log, encoding="utf-8", errors="replace"):
        line = raw.rstrip("\n")
        m = ERROR_LINE.match(line)
        if m:
            errors.append((os.path.normpath(m["file"]), m["msg"]))
        elif line.strip() and not line.startswith("#") and not line.startswith("\t"):
            other.append(line)
    # The compiler repeats nothing, but a file listed twice via ./ and a full
    # path would double-count.
    print(f"type errors: {len(errors)}")
    if other:
        print(f"other build output ({len(other)} lines; first 10):")
        for line in other[:10]:
            print(f"  {line}")
    if not errors:
        return
    by_file = collections.Counter(os.path.basename(f) for f, _ in errors)
    by_pkg = collections.Counter(os.path.dirname(f) or "." for f, _ in errors)
    if len(by_pkg) > 1 or "internal/e2e" not in next(iter(by_pkg)):
        print("errors per package directory:")
        for pkg, n in by_pkg.most_common():
            print(f"  {n:5d}  {pkg}")
    print(f"errors per file ({len(by_file)} files):")
    for f, n in sorted(by_file.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:5d}  {f}")
    groups = collections.Counter()
    example = {}
    files_of = collections.defaultdict(set)
    for f, msg in errors:
        key = group_key(msg)
        groups[key] += 1
        example.setdefault(key, msg)
        files_of[key].add(os.path.basename(f))
    if all_groups:
        with open(all_groups, "w") as f:
            for key, n in groups.most_common():
                f.write(f"{n:5d}  {key}   [{', '.join(sorted(files_of[key]))}]\n")
                f.write(f"         e.g. {example[key]}\n")
    print(f"most common errors, by missing identifier ({len(groups)} distinct; top 15):")
    for key, n in groups.most_common(15):
        print(f"  {n:5d}  {key}   [{len(files_of[key])} file(s)]")
        if not key.endswith(("(undefined)", "(unknown field)", "(no field or method)")):
            print(f"         e.g. {example[key][:160]}")


# ---------------------------------------------------------------------------
# results

LOCATION = re.compile(r"^\s*\S+\.go:\d+: ")


def summarize_results(path, list_file=None):
    status = {}                       # test name -> pass/fail/skip
    output = collections.defaultdict(list)
    package_fail = []
    for raw in open(path, encoding="utf-8", errors="replace"):
        try:
            ev = json.loads(raw)
        except json.JSONDecodeError:
            package_fail.append(raw.rstrip())
            continue
        test, action = ev.get("Test"), ev.get("Action")
        if not test:
            if action == "output":
                package_fail.append(ev.get("Output", "").rstrip())
            continue
        if action == "output":
            output[test].append(ev.get("Output", ""))
        elif action in ("pass", "fail", "skip"):
            status[test] = action
        elif action == "run":
            status.setdefault(test, "run")

    compiled = []
    if list_file and os.path.exists(list_file):
        compiled = [l.strip() for l in open(list_file) if l.strip().startswith("Test")]

    tops = collections.OrderedDict()
    for name in compiled:
        tops[name] = None
    for name in status:
        tops.setdefault(name.split("/")[0], None)

    def counts(names):
        c = collections.Counter(status.get(n, "not run") for n in names)
        return c

    top_status = counts([t for t in tops])
    subs = [n for n in status if "/" in n]
    sub_status = counts(subs)
    print(f"top-level tests: compiled {len(compiled) or len(tops)}, "
          f"passed {top_status['pass']}, failed {top_status['fail']}, skipped {top_status['skip']}, "
          f"not finished {top_status['run']}, not run {top_status['not run']}")
    print(f"subtests: ran {len(subs)}, passed {sub_status['pass']}, failed {sub_status['fail']}, "
          f"skipped {sub_status['skip']}, not finished {sub_status['run']}")
    print("per top-level test (status: subtests passed/failed/skipped):")
    for top in tops:
        if top not in status:
            continue
        mine = [n for n in subs if n.startswith(top + "/")]
        c = counts(mine)
        st = status.get(top, "not run")
        extra = f" not-finished {c['run']}" if c["run"] else ""
        print(f"  {st:8s} {top}: {c['pass']}/{c['fail']}/{c['skip']}{extra}")

    not_run = [t for t in tops if t not in status]
    if not_run:
        print(f"  not run ({len(not_run)}, filtered out or not reached): {' '.join(not_run[:40])}"
              + (" ..." if len(not_run) > 40 else ""))

    failures = [n for n, s in status.items() if s in ("fail", "run")]
    # Report the deepest failing tests (a parent fails because a child did).
    leaves = [n for n in failures if not any(o.startswith(n + "/") for o in failures)]
    if leaves:
        unrecorded = sum(any("no recording at " in l for l in output[n]) for n in leaves)
        print(f"failures ({len(leaves)}; {unrecorded} of them without a recording):")
    for name in leaves:
        first = next((l.strip() for l in output[name] if LOCATION.match(l)), None)
        if first is None:
            first = next((l.strip() for l in output[name]
                          if l.strip() and not l.startswith(("=== ", "--- ", "    --- "))), "(no output)")
        state = "" if status[name] == "fail" else " [did not finish]"
        if any("no recording at " in l for l in output[name]):
            state += " [no recording for it in the snapshots]"
        print(f"  {name}{state}\n      {first[:300]}")
    tail = [l for l in package_fail if l and not l.startswith(("PASS", "FAIL\t", "ok  ", "=== "))]
    if tail:
        print("package output (last 15 lines):")
        for line in tail[-15:]:
            print(f"  {line}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "needs":
        needs(args[0], args[1], args[2:])
    elif cmd == "compile":
        summarize_compile(args[0], args[1] if len(args) > 1 else None)
    elif cmd == "files":
        for f in sorted({os.path.basename(m["file"]) for m in map(ERROR_LINE.match, open(args[0], errors="replace"))
                         if m and m["file"].endswith("_test.go")}):
            print(f)
    elif cmd == "results":
        summarize_results(args[0], args[1] if len(args) > 1 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

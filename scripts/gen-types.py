#!/usr/bin/env python3
"""Generates the typed layers from the pinned Copilot CLI's own schemas.

Reads api.schema.json and session-events.schema.json from the unpacked CLI
package (default: found under $COPILOT_TEST_CACHE or target/copilot-cache) and
writes every file the emitters in scripts/typegen/ own, each marked generated.

  gen-types.py [SCHEMA_DIR]          regenerate
  gen-types.py --check [SCHEMA_DIR]  exit 1 if a committed file differs
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from typegen import cpp, csharp, golang, reference, schema  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EMITTERS = (golang, reference, csharp, cpp)


def formatted(path: str, text: str) -> str:
    """Output as the language's own formatter leaves it, so diffs stay readable."""
    if path.endswith(".go"):
        return subprocess.run(["gofmt"], input=text, capture_output=True, text=True, check=True).stdout
    return text


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    schema_dir = Path(args[0]) if args else schema.find_schema_dir()
    if schema_dir is None:
        sys.exit("no CLI schemas found: run scripts/ensure-cli.sh or pass the schemas/ folder")
    model = schema.load(schema_dir)
    outputs = {}
    for emitter in EMITTERS:
        for rel, text in emitter.emit(model).items():
            outputs[ROOT / rel] = formatted(rel, text)
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run scripts/gen-types.py")
        sys.exit(1 if stale else 0)
    for p, text in outputs.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    print(f"CLI {model.version}: {len(model.events)} events, {len(model.methods)} methods, "
          f"{len(model.defs)} types -> {len(outputs)} files")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Rewrite the parameter tables of docs/presets.md from the code.

usage: python3 scripts/presets-doc.py [MALI_SIM]   (default: build/release/tools/mali-sim)

Each table of the page whose `name` row names a preset (or `custom`) is replaced by what
`mali-sim presets NAME --markdown` prints; the tests cli.presets_doc_* fail until the page agrees.
"""
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
tool = sys.argv[1] if len(sys.argv) > 1 else str(root / "build/release/tools/mali-sim")
page = root / "docs/presets.md"
text = page.read_text()
for name in ["t860", "g31", "g52", "g72", "g57", "custom"]:
    table = subprocess.run([tool, "presets", name, "--markdown"], capture_output=True, text=True,
                           check=True).stdout.rstrip("\n")
    row = f"| `name` | `{name}` |"
    at = text.index(row)
    start = text.rindex("| Parameter | Value | Source |", 0, at)
    end = text.find("\n\n", at)
    end = len(text) if end == -1 else end
    text = text[:start] + table + text[end:]
page.write_text(text)
print(f"{page}: tables rewritten from {tool}")

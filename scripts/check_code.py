#!/usr/bin/env python3
"""Checks the code's shape that review keeps asking for; exits 1 naming every finding.

  scripts/check_code.py [REPO_ROOT]

- no function over 80 lines in src/ and tools/ (lengths from universal-ctags, lambdas
  counted in the function that holds them);
- no comparison with a data set's name outside the data set registry (src/data/): what
  depends on the data set is a method of data::Dataset;
- one YAML reader: yaml-cpp is used only in src/config/, whose Reader and schemas give
  every error its file, line and key.
"""
import pathlib
import re
import subprocess
import sys

MAX_LINES = 80
DATASETS = ("fashion-mnist", "mnist", "cifar10", "synthetic", "idx")


def sources(root, folders, suffixes=(".cpp", ".h")):
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in suffixes and path.is_file():
                yield path


def long_functions(root):
    found = []
    for path in sources(root, ("src", "tools")):
        out = subprocess.run(
            ["ctags", "-x", "--c++-kinds=f", "--fields=+ne", "--_xformat=%N %n %e",
             "--language-force=C++", "-o", "-", str(path)],
            check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) != 3 or not parts[2].isdigit():
                continue
            name, start, end = parts[0], int(parts[1]), int(parts[2])
            if end - start + 1 > MAX_LINES:
                found.append(f"{path.relative_to(root)}:{start}: {name} is {end - start + 1} lines "
                             f"(at most {MAX_LINES})")
    return found


def dataset_dispatch(root):
    names = "|".join(re.escape(n) for n in DATASETS)
    compare = re.compile(rf'(==|!=)\s*"({names})"|"({names})"\s*(==|!=)')
    found = []
    for path in sources(root, ("src", "tools", "include")):
        if path.parts[-2] == "data":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if compare.search(line):
                found.append(f"{path.relative_to(root)}:{number}: compares with a data set's name "
                             "(make it a data::Dataset method)")
    return found


def yaml_readers(root):
    found = []
    for path in sources(root, ("src", "tools", "include")):
        if path.parts[-2] == "config" and path.is_relative_to(root / "src"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "yaml-cpp" in line or "YAML::" in line or "yaml_reader.h" in line:
                found.append(f"{path.relative_to(root)}:{number}: reads YAML outside src/config/")
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent).resolve()
    findings = long_functions(root) + dataset_dispatch(root) + yaml_readers(root)
    for f in findings:
        print(f)
    print(f"check_code: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The workspace's declared rust-version must be at least the highest rust-version any locked
dependency declares: otherwise the declaration promises a toolchain that cannot build the lock
file. Only the declarations are compared (one toolchain is installed here)."""

import json
import os
import subprocess
import sys


def version(text):
    return tuple(int(x) for x in text.split("."))


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    meta = json.loads(out)
    ours = set(meta["workspace_members"])
    declared = {p["rust_version"] for p in meta["packages"] if p["id"] in ours and p.get("rust_version")}
    if len(declared) != 1:
        sys.exit("check-msrv: the workspace members declare {} rust-version; declare one in "
                 "[workspace.package]".format(sorted(declared) or "no"))
    declared = declared.pop()
    deps = sorted(
        ((version(p["rust_version"]), p["name"], p["version"], p["rust_version"])
         for p in meta["packages"] if p["id"] not in ours and p.get("rust_version")),
        reverse=True,
    )
    if deps and version(declared) < deps[0][0]:
        _, name, ver, need = deps[0]
        sys.exit("check-msrv: rust-version {} is too low: {} {} needs {}; raise [workspace.package] "
                 "rust-version in Cargo.toml (and the README)".format(declared, name, ver, need))
    top = "{} {} ({})".format(deps[0][1], deps[0][2], deps[0][3]) if deps else "none"
    print("check-msrv: rust-version {} covers {} locked dependencies; the highest is {}".format(
        declared, len(deps), top))


if __name__ == "__main__":
    main()

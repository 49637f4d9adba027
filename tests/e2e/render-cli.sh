#!/usr/bin/env bash
# render-cli.sh SPEC BASE OUT - render each host of SPEC with the `pgha` CLI, the way
# examples/local renders each resource: the host's own platform root (BASE/hosts/<host>) and the
# S3 stand-in's CA (BASE/s3/ca.crt). Writes OUT/<host>.yaml (the host's #cloud-config) for every
# host and prints the host names, etcd members first.
set -euo pipefail
spec=${1:?usage: render-cli.sh SPEC BASE OUT}
base=${2:?base dir missing}
out=${3:?output dir missing}
repo=$(cd "$(dirname "$0")/../.." && pwd)
pgha=${PGHA_BIN:-$repo/target/debug/pgha}
[[ -x $pgha ]] || cargo build -q -p pgha-cli --bin pgha
mkdir -p "$out/specs"
mapfile -t hosts < <(/usr/bin/python3 - "$spec" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for m in c["etcd"]["members"]:
    print(m["name"])
for n in c["nodes"]:
    print(n["name"])
PY
)
for h in "${hosts[@]}"; do
    /usr/bin/python3 - "$spec" "$base" "$h" >"$out/specs/$h.yaml" <<'PY'
import sys, yaml
spec, base, host = sys.argv[1:]
c = yaml.safe_load(open(spec))
c["platform"]["root"] = f"{base}/hosts/{host}"
repo = c["pgbackrest"]["repository"]
if repo.get("type") == "s3":
    repo["ca_file"] = f"{base}/s3/ca.crt"
print(yaml.safe_dump(c, sort_keys=False), end="")
PY
    rm -rf "$out/tmp"
    "$pgha" render --spec "$out/specs/$h.yaml" --out "$out/tmp" >/dev/null 2>"$out/specs/$h.log" || {
        cat "$out/specs/$h.log" >&2
        exit 1
    }
    cp "$out/tmp/$h/cloud-init.yaml" "$out/$h.yaml"
    printf '%s\n' "$h"
done
rm -rf "$out/tmp"

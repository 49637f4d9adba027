#!/usr/bin/env bash
# Benchmarks the pgha provider against Terraform's built-in terraform_data, side by side in one
# run. Prints ratios (never bare times as a verdict):
#   1. `terraform plan` of the quickstart (7 pgha resources) vs 7 terraform_data resources;
#   2. `terraform plan` of 100 Patroni nodes (+3 etcd members, 1 stanza) vs 104 terraform_data;
#   3. provider start-up (process start to handshake line) vs `terraform version`;
#   4. the provider's peak memory (/usr/bin/time -v) while planning 100 nodes.
# Runs alternate between the two sides; medians of RUNS (default 5) runs each.
# Uses a release build of the provider (the only release build in the repository's scripts).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-5}
terraform=${TERRAFORM:-terraform}
work=${WORK:-$root/.work}
[[ $work = /* ]] || work=$root/$work
bench=$work/bench-provider
rm -rf "$bench"
mkdir -p "$bench"

echo "==> building the provider (release)" >&2
(cd "$root" && cargo build --release -q -p terraform-provider-pgha)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
real_bin=$target_dir/release/terraform-provider-pgha

# The provider binary Terraform starts is a wrapper that records peak memory per run.
mkdir -p "$bench/bin" "$bench/mem"
cat >"$bench/bin/terraform-provider-pgha" <<WRAP
#!/usr/bin/env bash
exec /usr/bin/time -v -o "$bench/mem/\$\$.txt" "$real_bin" "\$@"
WRAP
chmod +x "$bench/bin/terraform-provider-pgha"
cat >"$bench/tfrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/pgha/pgha" = "$bench/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE=$bench/tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# Workspaces.
mkdir -p "$bench/quickstart" "$bench/data7" "$bench/nodes100" "$bench/data104"
cp "$root"/examples/quickstart/main.tf "$bench/quickstart/"
# shellcheck disable=SC2016 # ${count.index} is Terraform syntax, written literally.
data_config() {
    printf 'resource "terraform_data" "r" {\n  count = %d\n  input = { name = "host-${count.index}", files = ["a", "b", "c"] }\n}\n' "$1"
}
data_config 7 >"$bench/data7/main.tf"
data_config 104 >"$bench/data104/main.tf"
python3 - "$root/examples/quickstart/main.tf" "$bench/nodes100/main.tf" <<'PY'
import sys
text = open(sys.argv[1]).read()
nodes = "\n".join(f'    "pg-db-{i:03d}" = "10.1.{i // 250}.{i % 250 + 1}"' for i in range(100))
start = text.index("  db_nodes = {")
end = text.index("  }\n", start) + 4
text = text[:start] + "  db_nodes = {\n" + nodes + "\n  }\n" + text[end:]
text = text.replace('availability_domain = local.availability_domain[each.key]',
                    'availability_domain = lookup(local.availability_domain, each.key, null)')
text = text.replace('client_cidrs = ["192.0.2.0/24"]', 'client_cidrs = ["10.1.0.0/16"]')
# 99 replicas need as many WAL senders and slots (the library's rule P025 says so).
text = text.replace("max_replication_slots          = 10", "max_replication_slots          = 110")
text = text.replace("max_wal_senders                = 10", "max_wal_senders                = 110")
open(sys.argv[2], "w").write(text)
PY

plan_seconds() {
    local dir=$1 start end
    start=$(date +%s.%N)
    (cd "$dir" && "$terraform" plan -refresh=false -input=false -no-color >plan.log 2>&1) \
        || { echo "plan failed in $dir:" >&2; tail -n 40 "$dir/plan.log" >&2; exit 1; }
    end=$(date +%s.%N)
    python3 -c "print($end - $start)"
}

median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

compare() {
    local label=$1 ours=$2 theirs=$3 a=() b=() i
    # One untimed run each warms caches.
    plan_seconds "$ours" >/dev/null
    plan_seconds "$theirs" >/dev/null
    for ((i = 0; i < runs; i++)); do
        a+=("$(plan_seconds "$ours")")
        b+=("$(plan_seconds "$theirs")")
    done
    local ma mb
    ma=$(median "${a[@]}")
    mb=$(median "${b[@]}")
    printf '%-42s pgha %7.3f s   terraform_data %7.3f s   ratio %s\n' "$label" "$ma" "$mb" "$(ratio "$ma" "$mb")"
}

echo "==> terraform plan, medians of $runs alternating runs"
compare "quickstart (7) vs 7 terraform_data" "$bench/quickstart" "$bench/data7"
rm -f "$bench"/mem/*.txt
compare "100 nodes (104) vs 104 terraform_data" "$bench/nodes100" "$bench/data104"
peak=$(grep -h "Maximum resident set size" "$bench"/mem/*.txt | awk '{print $NF}' | sort -n | tail -1)
echo "provider peak RSS while planning 100 nodes: ${peak} KiB"

echo "==> start-up: process start to handshake line, medians of $runs alternating runs"
startup() {
    python3 - "$@" <<'PY'
import os, subprocess, sys, time
env = dict(os.environ, TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
           PLUGIN_PROTOCOL_VERSIONS="6", PLUGIN_MIN_PORT="10000", PLUGIN_MAX_PORT="25000")
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
line = p.stdout.readline()
elapsed = time.perf_counter() - t
p.kill(); p.wait()
if not line:
    sys.exit("no handshake line")
print(elapsed)
PY
}
version_seconds() {
    python3 -c 'import subprocess,sys,time; t=time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); print(time.perf_counter()-t)' "$terraform" version
}
s=() v=()
for ((i = 0; i < runs; i++)); do
    s+=("$(startup "$real_bin")")
    v+=("$(version_seconds)")
done
ms=$(median "${s[@]}")
mv=$(median "${v[@]}")
printf '%-42s pgha %7.4f s   terraform version %7.4f s   ratio %s\n' "provider start-up" "$ms" "$mv" "$(ratio "$ms" "$mv")"
/usr/bin/time -v "$real_bin" --version 2>"$bench/version-mem.txt" >/dev/null
echo "provider peak RSS for --version: $(grep "Maximum resident set size" "$bench/version-mem.txt" | awk '{print $NF}') KiB"

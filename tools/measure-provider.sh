#!/usr/bin/env bash
# Measure the provider's start-up cost and binary size, side by side in one run.
#
# Start-up: wall time of `terraform plan` on a one-resource configuration that uses the pgha
# provider, against the same plan with only the built-in terraform_data (no plugin process).
# The two are run alternately, N times each, so machine load affects both alike; the report
# gives medians and their difference and ratio. Uses dev_overrides, so no `terraform init`.
#
# usage: tools/measure-provider.sh [PROVIDER_BINARY] [N]
#   PROVIDER_BINARY defaults to target/release/terraform-provider-pgha (build it first with
#   `cargo build --release -p terraform-provider-pgha`); N defaults to 15.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/terraform-provider-pgha}
n=${2:-15}
terraform=${TERRAFORM:-/usr/local/bin/terraform}
[[ -x $bin ]] || { echo "no provider binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bindir=$(dirname "$(readlink -f "$bin")")
cat >"$work/cli.tfrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/pgha/pgha" = "$bindir"
  }
  direct {}
}
RC
mkdir -p "$work/pgha" "$work/builtin"
cat >"$work/pgha/main.tf" <<'TF'
terraform {
  required_providers {
    pgha = { source = "pgha/pgha" }
  }
}
resource "pgha_etcd_member" "a" {
  name         = "e1"
  address      = "10.0.0.1"
  cluster_name = "pg"
  members      = { e1 = "10.0.0.1", e2 = "10.0.0.2", e3 = "10.0.0.3" }
}
TF
cat >"$work/builtin/main.tf" <<'TF'
resource "terraform_data" "a" {
  input = "alpha"
}
TF

export TF_CLI_CONFIG_FILE=$work/cli.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
unset TF_LOG TF_LOG_PATH TF_CLI_ARGS TF_DATA_DIR

one() { # prints milliseconds for one plan in directory $1
  local start end
  start=$(date +%s%N)
  (cd "$1" && "$terraform" plan -no-color >/dev/null 2>&1) || { echo "plan failed in $1" >&2; exit 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

one "$work/pgha" >/dev/null; one "$work/builtin" >/dev/null # warm the page cache
pgha=() builtin=()
for _ in $(seq "$n"); do
  pgha+=("$(one "$work/pgha")")
  builtin+=("$(one "$work/builtin")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${pgha[@]}")
mb=$(median "${builtin[@]}")
size=$(stat -c %s "$bin")
echo "runs per configuration:       $n"
echo "plan, pgha_etcd_member (median): ${mp} ms"
echo "plan, terraform_data (median): ${mb} ms"
awk -v p="$mp" -v b="$mb" 'BEGIN {printf "provider start-up overhead:   %.0f ms (ratio %.2f)\n", p - b, p / b}'
echo "binary size:                  $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.1f", s/1048576}') MiB) $bin"

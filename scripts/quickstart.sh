#!/usr/bin/env bash
# quickstart.sh - the Terraform half of `make demo-render`: renders the quickstart cluster
# (examples/quickstart) with Terraform and the pgha provider. Builds the provider, points
# Terraform at it through a dev override, applies a copy of the example under .work/quickstart,
# prints the outputs, and shows that a second plan is empty.
# Nothing is contacted: the provider only renders files.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${WORK:-$root/.work}
[[ $work = /* ]] || work=$root/$work
terraform=${TERRAFORM:-terraform}
cargo=${CARGO:-cargo}

command -v "$terraform" >/dev/null || { echo "quickstart: terraform is not installed" >&2; exit 1; }

echo "==> building terraform-provider-pgha"
(cd "$root" && "$cargo" build -p terraform-provider-pgha)
target_dir=$(cd "$root" && "$cargo" metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin_dir=$target_dir/debug
[[ -x $bin_dir/terraform-provider-pgha ]] || { echo "quickstart: no provider binary in $bin_dir" >&2; exit 1; }

dir=$work/quickstart
rm -rf "$dir"
mkdir -p "$dir"
cp "$root"/examples/quickstart/*.tf "$dir"/
cat > "$work/quickstart.tfrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/pgha/pgha" = "$bin_dir"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE=$work/quickstart.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

cd "$dir"
echo "==> terraform apply (in $dir)"
"$terraform" apply -auto-approve -no-color
echo "==> terraform output"
"$terraform" output -no-color
echo "==> terraform plan -detailed-exitcode (must be empty)"
set +e
"$terraform" plan -detailed-exitcode -no-color >plan.txt 2>&1
code=$?
set -e
tail -n 3 plan.txt
case $code in
    0) echo "quickstart: the second plan is empty" ;;
    2) echo "quickstart: the second plan has changes (a bug):" >&2; cat plan.txt >&2; exit 1 ;;
    *) echo "quickstart: terraform plan failed:" >&2; cat plan.txt >&2; exit 1 ;;
esac

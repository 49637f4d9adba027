#!/usr/bin/env python3
"""Lists the argument names of the oracle/oci Terraform provider's resources and data sources
that examples/oci uses, from the provider's own schema definitions (the Go `Schema:` maps in
internal/service/*/<type>_{resource,data_source}.go), as `kind type dotted.path` lines.

Usage: schema.py PROVIDER_GIT_DIR [REV] > oci-schema.txt
(PROVIDER_GIT_DIR: a clone of github.com/oracle/terraform-provider-oci; REV defaults to HEAD.)

The Go files are read with a small brace-matching scan: a line `"name": {` opens an argument,
nested ones are its block's arguments. It relies on the generated layout of those files.
"""
import re
import subprocess
import sys

USED = {
    "resource": [
        "oci_core_instance", "oci_core_vcn", "oci_core_nat_gateway", "oci_core_service_gateway",
        "oci_core_route_table", "oci_core_security_list", "oci_core_subnet",
        "oci_identity_user", "oci_identity_group", "oci_identity_user_group_membership",
        "oci_identity_policy", "oci_identity_dynamic_group", "oci_identity_customer_secret_key",
        "oci_objectstorage_bucket", "oci_vault_secret",
        "oci_network_load_balancer_network_load_balancer",
        "oci_network_load_balancer_backend_set", "oci_network_load_balancer_backend",
        "oci_network_load_balancer_listener",
    ],
    "data": [
        "oci_identity_availability_domains", "oci_objectstorage_namespace", "oci_core_services",
    ],
}
SERVICE = {"core": "core", "identity": "identity", "objectstorage": "objectstorage",
           "network": "network_load_balancer"}


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True,
                          capture_output=True, text=True).stdout


def source_path(kind, tf_type):
    short = tf_type[len("oci_"):]
    service = short.split("_")[0]
    service = SERVICE.get(service, service)
    suffix = "resource" if kind == "resource" else "data_source"
    return f"internal/service/{service}/{short}_{suffix}.go"


OPEN = re.compile(r'^\s*"([a-z0-9_]+)":\s*\{\s*$')


def arguments(text):
    """Dotted paths of every `"name": {` entry, nested by braces."""
    out, stack, depth = [], [], 0
    for line in text.splitlines():
        code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line.split("//")[0]) if '"' in line else line
        m = OPEN.match(line)
        if m:
            stack.append((m.group(1), depth))
            out.append(".".join(n for n, _ in stack))
        depth += code.count("{") - code.count("}")
        while stack and depth <= stack[-1][1]:
            stack.pop()
    return out


def main():
    repo = sys.argv[1]
    rev = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    version = git(repo, "log", "-1", "--format=%h %s", rev).strip()
    print(f"# oracle/terraform-provider-oci {version}: argument names from its Go schemas")
    for kind, types in USED.items():
        for t in types:
            text = git(repo, "show", f"{rev}:{source_path(kind, t)}")
            for path in sorted(set(arguments(text))):
                print(f"{kind} {t} {path}")


if __name__ == "__main__":
    main()

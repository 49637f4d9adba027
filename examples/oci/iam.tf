# The instances read their passwords from OCI Vault at boot with their instance principal
# (`oci secrets secret-bundle get --auth instance_principal`, pgha-resolve-secrets): a dynamic
# group of this compartment's instances, allowed to read secret bundles and nothing else. IAM
# lives in the home region (provider oci.home, see versions.tf).
resource "oci_identity_dynamic_group" "hosts" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "pg-ha-hosts"
  description    = "Instances of pg-ha-cluster: they read their secrets from OCI Vault at boot"
  matching_rule  = "ALL {instance.compartment.id = '${var.compartment_ocid}'}"
}

resource "oci_identity_policy" "hosts_read_secrets" {
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "pg-ha-hosts-secrets"
  description    = "pg-ha-cluster instances: read the secret bundles of this compartment"
  statements = [
    "Allow dynamic-group ${oci_identity_dynamic_group.hosts.name} to read secret-bundles in compartment id ${var.compartment_ocid}",
  ]
}

terraform {
  required_providers {
    pgha = {
      source = "pgha/pgha"
    }
  }
}

# Rendering needs no configuration: the resources only compute files, and nothing is
# contacted while planning. The OCI settings below (spelled as the oracle/oci provider spells
# them, with the same OCI_* environment fallbacks and ~/.oci/config profiles) are used only by
# the pgha_pgbackrest_backups data source and by a stanza's opt-in `verify_bucket` check.
provider "pgha" {
  config_file_profile = "DEFAULT"
  region              = "us-ashburn-1"
}

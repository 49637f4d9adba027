# A stanza on OCI Object Storage. The S3 keys are read on the hosts at first boot from an
# environment file (or OCI Vault), so they never enter Terraform state.
resource "pgha_pgbackrest_stanza" "main" {
  name           = "pg-ha-cluster"
  retention_full = 4

  s3 {
    bucket    = "pg-backup"
    region    = "us-ashburn-1"
    namespace = "examplenamespace"

    access_key_ref {
      env_file = "/etc/pgha/s3.env"
      variable = "S3_ACCESS_KEY"
    }
    secret_key_ref {
      oci_vault_secret_id = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamples3secret"
    }
  }

  schedule {
    full = "0 1 * * 0"
    diff = "0 1 * * 1-6"
  }

  options = {
    compress-type = "zst"
  }
}

# The Patroni cluster takes the stanza's spec (and hands it to every node):
#   stanza = pgha_pgbackrest_stanza.main.spec

# The same variables feed the oci provider and pgha: the attribute names are the same.
variable "tenancy_ocid" { type = string }
variable "user_ocid" { type = string }
variable "fingerprint" { type = string }
variable "private_key_path" { type = string }
variable "region" { type = string }

provider "pgha" {
  tenancy_ocid     = var.tenancy_ocid
  user_ocid        = var.user_ocid
  fingerprint      = var.fingerprint
  private_key_path = var.private_key_path
  region           = var.region
}

# The repository that pgBackRest writes to OCI Object Storage through the S3-compatible API
# for the stanza of the pgha_pgbackrest_stanza example (bucket pg-backup, repository path
# /backup, the default of both). It is read during `terraform plan`, with the settings above.
data "pgha_pgbackrest_backups" "main" {
  stanza = "pg-ha-cluster"

  s3 {
    bucket = "pg-backup"
    # namespace: defaults to the tenancy's; region: to the provider's; path: to /backup.
  }
}

# Or a repository in a directory the machine running Terraform can read.
data "pgha_pgbackrest_backups" "local" {
  stanza = "pg-ha-cluster"

  posix {
    path = "/mnt/pgbackrest"
  }
}

output "backup_status" {
  # "ok", "missing_stanza" (no stanza-create yet), "checksum_mismatch" or "unreadable".
  value = data.pgha_pgbackrest_backups.main.status
}

output "latest_full_backup" {
  # latest_full is null until the first full backup exists.
  value = try(data.pgha_pgbackrest_backups.main.latest_full.label, null)
}

# Warn (without failing the run) when the newest full backup is older than 8 days.
check "recent_full_backup" {
  assert {
    condition = try(
      timecmp(data.pgha_pgbackrest_backups.main.latest_full.stop, timeadd(plantimestamp(), "-192h")) > 0,
      false
    )
    error_message = "No full backup of stanza pg-ha-cluster in the last 8 days (status: ${data.pgha_pgbackrest_backups.main.status})."
  }
}

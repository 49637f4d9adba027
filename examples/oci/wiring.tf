# The only values the pgha resources take from OCI. provider/tests/resource_examples.rs replaces
# this file with literals and plans pgha.tf with the pgha provider alone.
locals {
  object_storage_namespace = data.oci_objectstorage_namespace.ns.namespace
  backup_bucket            = oci_objectstorage_bucket.backup.name
  region                   = var.region
  client_cidrs             = var.client_cidrs
  vault_secret_ids         = var.vault_secret_ids

  # The backup user's customer secret key: its OCID is the S3 access key ID (not a secret), its
  # `key` the secret, which reaches the hosts only as a Vault reference (storage.tf).
  s3_access_key_id        = oci_identity_customer_secret_key.backup.id
  s3_secret_key_secret_id = oci_vault_secret.s3_secret_key.id
}

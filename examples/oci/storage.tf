data "oci_objectstorage_namespace" "ns" {
  compartment_id = var.tenancy_ocid
}

resource "oci_objectstorage_bucket" "backup" {
  compartment_id = var.compartment_ocid
  namespace      = data.oci_objectstorage_namespace.ns.namespace
  name           = "pg-backup"
  access_type    = "NoPublicAccess"
  versioning     = "Disabled"
}

# A user that can reach this bucket and nothing else; its customer secret key is the S3
# key pair pgBackRest uses.
resource "oci_identity_user" "backup" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  email          = var.backup_user_email
  name           = "pg-ha-backup"
  description    = "pgBackRest of pg-ha-cluster (S3 compatibility API)"
}

resource "oci_identity_group" "backup" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "pg-ha-backup"
  description    = "May read and write the pg-ha-cluster backup bucket only"
}

resource "oci_identity_user_group_membership" "backup" {
  provider = oci.home
  user_id  = oci_identity_user.backup.id
  group_id = oci_identity_group.backup.id
}

resource "oci_identity_policy" "backup" {
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "pg-ha-backup"
  description    = "pgBackRest: the backup bucket and its objects, nothing else"
  statements = [
    "Allow group ${oci_identity_group.backup.name} to read buckets in compartment id ${var.compartment_ocid} where target.bucket.name = '${oci_objectstorage_bucket.backup.name}'",
    "Allow group ${oci_identity_group.backup.name} to manage objects in compartment id ${var.compartment_ocid} where target.bucket.name = '${oci_objectstorage_bucket.backup.name}'",
  ]
}

resource "oci_identity_customer_secret_key" "backup" {
  provider     = oci.home
  user_id      = oci_identity_user.backup.id
  display_name = "pgbackrest"
}

# The S3 secret key goes to the hosts as a Vault reference: the instances read it with their
# instance principal at boot (the dynamic group's `read secret-bundles`), so it is neither in
# user_data (readable through the metadata service by any local user) nor in the pgha resources'
# state. The OCI provider keeps it in its own state, as it does for every customer secret key.
resource "oci_vault_secret" "s3_secret_key" {
  compartment_id = var.compartment_ocid
  vault_id       = var.vault_id
  key_id         = var.vault_key_id
  secret_name    = "pgha-${local.cluster_name}-s3-secret-key"
  description    = "pgBackRest's S3 secret key (the backup user's customer secret key)"

  secret_content {
    content_type = "BASE64"
    content      = base64encode(oci_identity_customer_secret_key.backup.key)
  }
}

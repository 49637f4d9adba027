# The cluster: 3 etcd members, 1 stanza, 1 Patroni cluster and its 3 nodes. Addresses are fixed
# here because the hosts' files (and so their cloud-init) name each other before any instance
# exists; the instances take them as their private IPs.

locals {
  cluster_name = "pg-ha-cluster"

  etcd_members = {
    "pg-etcd-01" = "10.0.1.11"
    "pg-etcd-02" = "10.0.1.12"
    "pg-etcd-03" = "10.0.1.13"
  }
  db_nodes = {
    "pg-db-01" = "10.0.1.21"
    "pg-db-02" = "10.0.1.22"
    "pg-db-03" = "10.0.1.23"
  }
  # Host index 0..2 → availability domain (or fault domain in one-AD regions).
  host_index = {
    "pg-etcd-01" = 0, "pg-etcd-02" = 1, "pg-etcd-03" = 2
    "pg-db-01"   = 0, "pg-db-02" = 1, "pg-db-03" = 2
  }

  # Separate block volumes, as in the tutorial (attached by instances.tf).
  db_platform = {
    pg_data_dir = "/pgdata/17/data"
    pg_wal_dir  = "/pgwal/17/pg_wal"
    pg_log_dir  = "/pglog/postgresql"
  }
}

resource "pgha_etcd_member" "etcd" {
  for_each = local.etcd_members

  name                = each.key
  address             = each.value
  availability_domain = "AD-${local.host_index[each.key] + 1}"
  members             = local.etcd_members
  cluster_name        = local.cluster_name
}

resource "pgha_pgbackrest_stanza" "main" {
  name           = local.cluster_name
  retention_full = 4

  s3 {
    bucket     = local.backup_bucket
    region     = local.region
    namespace  = local.object_storage_namespace
    access_key = local.s3_access_key_id
    secret_key_ref {
      oci_vault_secret_id = local.s3_secret_key_secret_id
    }
  }

  schedule {
    full = "0 1 * * 0"
    diff = "0 1 * * 1-6"
  }

  platform {
    pg_data_dir = local.db_platform.pg_data_dir
    pg_wal_dir  = local.db_platform.pg_wal_dir
    pg_log_dir  = local.db_platform.pg_log_dir
  }
}

# Everything cluster-wide, once. `members` comes from the same locals as the nodes' for_each.
# Parameters, pg_hba and the DCS timings are applied to the running cluster at apply (PATCH
# /config through Patroni's REST API on port 8008, so the Terraform runner must reach the
# private subnet: an agent in the VCN, or a bastion and `endpoints`); they never change a host's
# cloud-init.
resource "pgha_patroni_cluster" "main" {
  name      = local.cluster_name
  members   = local.db_nodes
  dcs_hosts = [for m in pgha_etcd_member.etcd : m.client_endpoint]
  stanza    = pgha_pgbackrest_stanza.main.spec

  parameters = {
    max_connections     = 500
    shared_buffers      = "4GB"
    password_encryption = "scram-sha-256"
  }
  client_cidrs = local.client_cidrs

  # Passwords live in OCI Vault; the instances read them at first boot with their instance
  # principal (a dynamic group with `read secret-bundles`), so they never enter state. The REST
  # API password is a reference too: Patroni then asks for credentials the provider cannot read,
  # so for live changes give `restapi_password` inline (sensitive, kept in state) instead.
  superuser_password_ref {
    oci_vault_secret_id = local.vault_secret_ids.superuser
  }
  replication_password_ref {
    oci_vault_secret_id = local.vault_secret_ids.replication
  }
  rewind_password_ref {
    oci_vault_secret_id = local.vault_secret_ids.rewind
  }
  restapi_username = "patroni"
  restapi_password_ref {
    oci_vault_secret_id = local.vault_secret_ids.restapi
  }
}

# Per host only. The node's platform matches the stanza's (the stanza's commands embed these
# paths).
resource "pgha_patroni_node" "db" {
  for_each = local.db_nodes

  cluster             = pgha_patroni_cluster.main.node_specs[each.key]
  name                = each.key
  address             = each.value
  availability_domain = "AD-${local.host_index[each.key] + 1}"

  platform {
    pg_data_dir = local.db_platform.pg_data_dir
    pg_wal_dir  = local.db_platform.pg_wal_dir
    pg_log_dir  = local.db_platform.pg_log_dir
  }
}

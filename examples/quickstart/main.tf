# The tutorial's topology, rendered by Terraform with nothing but the pgha provider: three etcd
# members, one pgBackRest stanza on OCI Object Storage, one Patroni cluster and its three nodes.
# The settings are those of examples/seed/cluster.yaml, so the files equal the library's own
# rendering of it.
#
#   terraform apply    # renders every file at plan time; at create the cluster only probes the
#                      # members' REST API briefly (nothing answers yet: a new cluster)
#   terraform output   # the files of each host
#
# On OCI, feed each `cloud_init` to an instance: see examples/oci/.

terraform {
  required_providers {
    pgha = { source = "pgha/pgha" }
  }
}

locals {
  cluster_name = "pg-ha-cluster"

  # Members reference each other, so the topology lives here, not in resource outputs.
  etcd_members = {
    "pg-etcd-01" = "192.0.2.4"
    "pg-etcd-02" = "192.0.2.5"
    "pg-etcd-03" = "192.0.2.6"
  }
  db_nodes = {
    "pg-db-01" = "192.0.2.1"
    "pg-db-02" = "192.0.2.2"
    "pg-db-03" = "192.0.2.3"
  }
  availability_domain = {
    "pg-etcd-01" = "AD1"
    "pg-etcd-02" = "AD2"
    "pg-etcd-03" = "AD3"
    "pg-db-01"   = "AD1"
    "pg-db-02"   = "AD2"
    "pg-db-03"   = "AD3"
  }

  # Secrets are resolved on the hosts at first boot and never enter Terraform state.
  vault_prefix = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexample"
}

resource "pgha_etcd_member" "etcd" {
  for_each = local.etcd_members

  name                = each.key
  address             = each.value
  availability_domain = local.availability_domain[each.key]
  members             = local.etcd_members
  cluster_name        = local.cluster_name
  token               = "etcd-cluster"

  # The tutorial's timings (the defaults, 100 ms / 1000 ms, fail over faster).
  heartbeat_interval_ms = 1000
  election_timeout_ms   = 5000

  platform {
    preset = "tutorial"
  }
}

resource "pgha_pgbackrest_stanza" "main" {
  name           = local.cluster_name
  retention_full = 10
  process_max    = 10

  s3 {
    bucket    = "pg_backup"
    region    = "us-ashburn-1"
    namespace = "examplenamespace"
    path      = "/backup"

    access_key_ref {
      env_file = "/etc/pgha/s3.env"
      variable = "S3_ACCESS_KEY"
    }
    secret_key_ref {
      env_file = "/etc/pgha/s3.env"
      variable = "S3_SECRET_KEY"
    }
  }

  schedule {
    full = "0 1 * * 0"
    diff = "0 1 * * 1-6"
  }

  log_cleanup {
    retention_days = 15
    schedule       = "8 0 * * *"
  }

  platform {
    preset = "tutorial"
  }
}

# Everything cluster-wide, once: the members, the DCS, the stanza, the roles and the live
# settings (Patroni's dynamic configuration). Its `spec` feeds every node below.
resource "pgha_patroni_cluster" "main" {
  name             = local.cluster_name
  namespace        = "/service/"
  members          = local.db_nodes
  dcs_hosts        = [for m in pgha_etcd_member.etcd : m.client_endpoint]
  stanza           = pgha_pgbackrest_stanza.main.spec
  postgres_version = 17

  # The tutorial's timing settings.
  ttl                     = 120
  loop_wait               = 10
  retry_timeout           = 10
  maximum_lag_on_failover = 1048576
  synchronous_mode        = false
  use_pg_rewind           = true
  use_slots               = true

  parameters = {
    archive_timeout                = "900s"
    log_file_mode                  = "0640"
    log_filename                   = "postgresql-%u.log"
    log_rotation_age               = "1d"
    log_truncate_on_rotation       = true
    logging_collector              = true
    max_connections                = 2000
    max_replication_slots          = 10
    max_wal_senders                = 10
    max_wal_size                   = "5GB"
    max_worker_processes           = 40
    min_wal_size                   = "1GB"
    password_encryption            = "scram-sha-256"
    superuser_reserved_connections = 200
  }
  client_cidrs = ["192.0.2.0/24"]

  initdb {
    encoding       = "UTF8"
    data_checksums = true
  }

  admin_user {
    name    = "admin"
    options = ["createrole", "createdb"]
    password_ref {
      oci_vault_secret_id = "${local.vault_prefix}admin"
    }
  }

  superuser_password_ref {
    oci_vault_secret_id = "${local.vault_prefix}superuser"
  }
  replication_password_ref {
    oci_vault_secret_id = "${local.vault_prefix}replication"
  }
  rewind_password_ref {
    oci_vault_secret_id = "${local.vault_prefix}rewind"
  }
  restapi_username = "patroni"
  restapi_password_ref {
    oci_vault_secret_id = "${local.vault_prefix}restapi"
  }
}

# Per host only: its name and address (a key and value of the cluster's `members`), its
# availability domain and platform.
resource "pgha_patroni_node" "db" {
  for_each = local.db_nodes

  cluster             = pgha_patroni_cluster.main.node_specs[each.key]
  name                = each.key
  address             = each.value
  availability_domain = local.availability_domain[each.key]

  platform {
    preset = "tutorial"
  }
}

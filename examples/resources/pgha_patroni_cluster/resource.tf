locals {
  db_nodes = {
    "pg-db-01" = "10.0.1.21"
    "pg-db-02" = "10.0.1.22"
    "pg-db-03" = "10.0.1.23"
  }
  vault = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexample"
}

# Everything cluster-wide, once. Each node takes its entry of `node_specs`:
#   cluster = pgha_patroni_cluster.main.node_specs[each.key]
resource "pgha_patroni_cluster" "main" {
  name      = "pg-ha-cluster"
  members   = local.db_nodes # the same map as the nodes' for_each
  dcs_hosts = [for m in pgha_etcd_member.etcd : m.client_endpoint]
  stanza    = pgha_pgbackrest_stanza.main.spec

  # Live: applied to the running cluster at apply (PATCH /config through the REST API), an
  # in-place update that never replaces a node or changes its cloud-init.
  ttl                    = 30
  synchronous_mode       = true
  synchronous_node_count = 1
  parameters = {
    max_connections = 500
    shared_buffers  = "4GB"
    wal_level       = "logical" # for the logical slot below
  }
  client_cidrs = ["10.0.0.0/16"]

  slot {
    name     = "cdc"
    type     = "logical"
    database = "app"
    plugin   = "pgoutput"
  }

  # Parameters that need a PostgreSQL restart: one member at a time, with a switchover.
  restart          = "rolling"
  wait_for_healthy = true

  superuser_password_ref {
    oci_vault_secret_id = "${local.vault}superuser"
  }
  replication_password_ref {
    oci_vault_secret_id = "${local.vault}replication"
  }
  rewind_password_ref {
    oci_vault_secret_id = "${local.vault}rewind"
  }
  # The provider authenticates its live changes with this password, so it is inline
  # (sensitive); the hosts get it in their files too.
  restapi_username = "patroni"
  restapi_password = var.restapi_password

  timeouts {
    update = "30m"
  }
}

variable "restapi_password" {
  type      = string
  sensitive = true
}

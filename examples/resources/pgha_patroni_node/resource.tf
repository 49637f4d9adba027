locals {
  db_nodes = {
    "pg-db-01" = "10.0.1.21"
    "pg-db-02" = "10.0.1.22"
    "pg-db-03" = "10.0.1.23"
  }
  vault = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexample"
}

resource "pgha_patroni_node" "db" {
  for_each = local.db_nodes

  cluster_name = "pg-ha-cluster"
  name         = each.key
  address      = each.value
  nodes        = local.db_nodes
  dcs_hosts    = [for m in pgha_etcd_member.etcd : m.client_endpoint]
  stanza       = pgha_pgbackrest_stanza.main.spec

  # Applied by Patroni live (`patronictl edit-config`); an in-place update here.
  parameters = {
    max_connections = 500
    shared_buffers  = "4GB"
  }
  client_cidrs = ["10.0.0.0/16"]

  superuser_password_ref {
    oci_vault_secret_id = "${local.vault}superuser"
  }
  replication_password_ref {
    oci_vault_secret_id = "${local.vault}replication"
  }
  rewind_password_ref {
    oci_vault_secret_id = "${local.vault}rewind"
  }
  restapi_username = "patroni"
  restapi_password_ref {
    oci_vault_secret_id = "${local.vault}restapi"
  }

  tags {
    nofailover = each.key == "pg-db-03"
  }
}

# Each instance boots from its node's cloud-init:
#   user_data = base64encode(pgha_patroni_node.db["pg-db-01"].cloud_init)

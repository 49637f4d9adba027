locals {
  db_nodes = {
    "pg-db-01" = "10.0.1.21"
    "pg-db-02" = "10.0.1.22"
    "pg-db-03" = "10.0.1.23"
  }
}

# One resource per host. Everything cluster-wide (members, DCS hosts, stanza, roles, passwords,
# parameters) comes from the pgha_patroni_cluster's `spec`; `name` and `address` must be a key
# and its value in the cluster's `members`, so both come from the same locals.
resource "pgha_patroni_node" "db" {
  for_each = local.db_nodes

  cluster = pgha_patroni_cluster.main.node_specs[each.key]
  name    = each.key
  address = each.value

  # Only for this host; changes its patroni.yml (and so its cloud-init).
  local_parameters = {
    work_mem = "64MB"
  }

  tags {
    nofailover = each.key == "pg-db-03"
  }
}

# Each instance boots from its node's cloud-init:
#   user_data = base64encode(pgha_patroni_node.db["pg-db-01"].cloud_init)
# A live change of the cluster's settings never changes it.

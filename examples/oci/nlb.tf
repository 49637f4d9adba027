# Clients connect to the load balancer: 5432 forwards to whichever node answers Patroni's
# `GET /primary` with 200 (the leader), 5433 to the nodes answering `GET /replica` with 200
# (running replicas; a replica lagging more than maximum_lag_on_failover answers 503).
#
# The backend sets preserve the client's source address, so PostgreSQL sees the client and
# `client_cidrs` (pg_hba and the security list) name the clients' networks. Without it every
# connection would come from the balancer's own address in the subnet, and narrowing
# client_cidrs to the clients would lock them all out.
resource "oci_network_load_balancer_network_load_balancer" "pg" {
  compartment_id                 = var.compartment_ocid
  display_name                   = "pg-ha"
  subnet_id                      = oci_core_subnet.private.id
  is_private                     = true
  is_preserve_source_destination = false
}

locals {
  # name => [listener port, Patroni health endpoint]
  nlb_roles = {
    primary = [5432, "/primary"]
    replica = [5433, "/replica"]
  }
  nlb_backends = {
    for pair in setproduct(keys(local.nlb_roles), keys(local.db_nodes)) :
    "${pair[0]}-${pair[1]}" => { role = pair[0], node = pair[1] }
  }
}

resource "oci_network_load_balancer_backend_set" "pg" {
  for_each = local.nlb_roles

  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  name                     = "pg-${each.key}"
  policy                   = "FIVE_TUPLE"
  is_preserve_source       = true

  health_checker {
    protocol           = "HTTP"
    port               = 8008
    url_path           = each.value[1]
    return_code        = 200
    interval_in_millis = 5000
    timeout_in_millis  = 3000
    retries            = 2
  }
}

resource "oci_network_load_balancer_backend" "db" {
  for_each = local.nlb_backends

  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  backend_set_name         = oci_network_load_balancer_backend_set.pg[each.value.role].name
  name                     = each.value.node
  ip_address               = pgha_patroni_node.db[each.value.node].address
  port                     = 5432
}

resource "oci_network_load_balancer_listener" "pg" {
  for_each = local.nlb_roles

  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  name                     = "postgres-${each.key}"
  default_backend_set_name = oci_network_load_balancer_backend_set.pg[each.key].name
  port                     = each.value[0]
  protocol                 = "TCP"
}

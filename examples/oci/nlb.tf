# Clients connect to the load balancer on 5432; it forwards to whichever node answers
# Patroni's `GET /primary` with 200 — the leader. Replicas answer 503 and get no traffic.
resource "oci_network_load_balancer_network_load_balancer" "pg" {
  compartment_id                 = var.compartment_ocid
  display_name                   = "pg-ha"
  subnet_id                      = oci_core_subnet.private.id
  is_private                     = true
  is_preserve_source_destination = false
}

resource "oci_network_load_balancer_backend_set" "primary" {
  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  name                     = "pg-primary"
  policy                   = "FIVE_TUPLE"
  is_preserve_source       = false

  health_checker {
    protocol           = "HTTP"
    port               = 8008
    url_path           = "/primary"
    return_code        = 200
    interval_in_millis = 5000
    timeout_in_millis  = 3000
    retries            = 2
  }
}

resource "oci_network_load_balancer_backend" "db" {
  for_each = pgha_patroni_node.db

  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  backend_set_name         = oci_network_load_balancer_backend_set.primary.name
  name                     = each.key
  ip_address               = each.value.address
  port                     = 5432
}

resource "oci_network_load_balancer_listener" "postgres" {
  network_load_balancer_id = oci_network_load_balancer_network_load_balancer.pg.id
  name                     = "postgres"
  default_backend_set_name = oci_network_load_balancer_backend_set.primary.name
  port                     = 5432
  protocol                 = "TCP"
}

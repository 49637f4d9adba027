output "postgres_endpoint" {
  description = "Connect here: port 5432 reaches the current primary, port 5433 a replica (read-only)."
  value       = oci_network_load_balancer_network_load_balancer.pg.ip_addresses[0].ip_address
}

output "patroni_rest_api" {
  description = "Each node's Patroni REST API, for `patronictl` and health checks."
  value       = { for name, n in pgha_patroni_node.db : name => n.restapi_url }
}

output "pending_restart" {
  description = "Members whose PostgreSQL waits for a restart after a live parameter change."
  value       = pgha_patroni_cluster.main.pending_restart
}

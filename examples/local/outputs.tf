output "connect" {
  description = "psql through the load balancer (the leader), as the superuser."
  value       = "PGPASSWORD=<superuser_password> psql -h 127.0.0.40 -p 5432 -U postgres postgres"
}

output "restapi_urls" {
  description = "Patroni's REST API of each node (GET /primary answers 200 on the leader)."
  value       = { for k, n in pgha_patroni_node.db : k => n.restapi_url }
}

output "patronictl" {
  description = "patronictl with node1's configuration."
  value       = "${var.patroni_bin_dir}/patronictl -c ${var.work_dir}/hosts/node1/etc/patroni/patroni.yml list"
}

output "work_dir" {
  description = "Hosts, logs and process ids of the local cluster."
  value       = var.work_dir
}

output "pending_restart" {
  description = "Members whose PostgreSQL waits for a restart (with restart = \"never\")."
  value       = pgha_patroni_cluster.main.pending_restart
}

output "dynamic_config" {
  description = "Patroni's dynamic configuration as applied (GET /config after a refresh)."
  value       = jsondecode(pgha_patroni_cluster.main.dynamic_config)
}

output "cluster" {
  description = "Each member: role, state, timeline, lag (bytes), pending restart."
  value = { for m in data.pgha_patroni_cluster_status.now.members : m.name => {
    role = m.role, state = m.state, timeline = m.timeline, lag = m.lag, pending_restart = m.pending_restart
  } }
}

output "bundle_hashes" {
  description = "Each database host's bundle hash: what its reconcile unit reports as applied in /var/lib/pgha/reconcile/state.json."
  value       = { for k, n in pgha_patroni_node.db : k => n.bundle_hash }
}

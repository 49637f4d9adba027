output "etcd_files" {
  description = "Every file of each etcd host, by host and path."
  value = {
    for name, m in pgha_etcd_member.etcd : name => { for f in m.files : f.path => f.content }
  }
}

output "db_files" {
  description = "Every file of each database host, by host and path (no inline secrets here)."
  value = {
    for name, n in pgha_patroni_node.db : name => { for f in n.files : f.path => f.content }
  }
}

output "stanza" {
  description = "What the stanza publishes for the Patroni nodes."
  value = {
    archive_command        = pgha_pgbackrest_stanza.main.archive_command
    restore_command        = pgha_pgbackrest_stanza.main.restore_command
    create_replica_command = pgha_pgbackrest_stanza.main.create_replica_command
  }
}

output "cloud_init_bytes" {
  description = "Size of each host's cloud-init document after base64 (OCI's limit is 32000)."
  value = merge(
    { for name, m in pgha_etcd_member.etcd : name => length(base64encode(m.cloud_init)) },
    { for name, n in pgha_patroni_node.db : name => nonsensitive(length(base64encode(n.cloud_init))) },
  )
}

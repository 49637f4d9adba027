# Move the leader to pg-db-02 (say, before maintenance of pg-db-01's host). Applying it performs
# one switchover; changing `candidate` (or `triggers`) performs another; destroying it changes
# nothing. It never moves the leader back after a failover by itself.
resource "pgha_patroni_switchover" "before_maintenance" {
  cluster   = pgha_patroni_cluster.main.spec
  candidate = "pg-db-02"

  # Only if pg-db-01 leads when this is applied; otherwise nothing happens.
  from = "pg-db-01"

  # The hosts must be up: the switchover talks to their REST API.
  depends_on = [oci_core_instance.db]
}

# The members of the running cluster, as `patronictl list` shows them: GET /cluster on the
# first REST API endpoint that answers (no credentials needed). It is read during `terraform
# plan` when the endpoints are known, so the machine running Terraform must reach port 8008.
#
# Inside a `check` block the data source is read after every plan and apply, and a failure (a
# cluster that does not answer, an assertion that does not hold) is a warning, never an error.
check "one_leader_and_streaming_replicas" {
  data "pgha_patroni_cluster_status" "main" {
    endpoints = pgha_patroni_cluster.main.restapi_urls
    # A healthy cluster has every configured member (default: one per endpoint).
    expected_members = length(pgha_patroni_cluster.main.members)
    timeout          = "30s"
    # Or wait up to `timeout` for a leader and caught-up replicas:
    # wait_for_healthy = true
  }

  assert {
    condition = length([
      for m in data.pgha_patroni_cluster_status.main.members : m if m.role == "leader"
    ]) == 1
    error_message = "Cluster pg-ha-cluster has no single leader (leader: \"${data.pgha_patroni_cluster_status.main.leader}\")."
  }

  # Every other member streams from the leader with lag 0.
  assert {
    condition     = length(data.pgha_patroni_cluster_status.main.streaming) == length(pgha_patroni_cluster.main.members) - 1
    error_message = "Not every replica streams with lag 0: streaming ${jsonencode(data.pgha_patroni_cluster_status.main.streaming)}."
  }

  assert {
    condition     = length(data.pgha_patroni_cluster_status.main.pending_restart) == 0
    error_message = "Members wait for a PostgreSQL restart: ${join(", ", data.pgha_patroni_cluster_status.main.pending_restart)}."
  }
}

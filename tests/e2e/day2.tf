# Added to the suite's copy of examples/local by tests/e2e/day2.sh: a planned switchover, created
# (and so performed) when `switchover_to` names a member; another name replaces it and switches
# over again.

variable "switchover_to" {
  description = "The member the leader moves to; empty: no switchover resource."
  type        = string
  default     = ""
}

resource "pgha_patroni_switchover" "planned" {
  count      = var.switchover_to == "" ? 0 : 1
  depends_on = [terraform_data.db_host]

  cluster   = pgha_patroni_cluster.main.spec
  candidate = var.switchover_to
}

variable "work_dir" {
  description = "Directory of the local cluster: hosts/<host> is each host's root, s3/ the object store's CA, logs/ and pids/ the processes. The postgres user must be able to reach it (not under /root)."
  type        = string
  default     = "/var/tmp/pgha-local"
}

variable "repo_dir" {
  description = "The pgha repository (for the host stand-in in tests/standin). Default: two levels above this directory."
  type        = string
  default     = ""
}

variable "patroni_bin_dir" {
  description = "Directory with patroni and patronictl (the venv scripts/setup.sh makes)."
  type        = string
  default     = "/opt/pgha/venv/bin"
}

# Passwords of this throw-away local cluster. They are inline, so they are in the Terraform state
# and in the rendered files (mode 0600/0640) under work_dir; on OCI give the *_ref blocks instead
# (see examples/oci).
variable "superuser_password" {
  type      = string
  sensitive = true
  default   = "Sup3r-local-e2e-7q2x"
}

variable "replication_password" {
  type      = string
  sensitive = true
  default   = "Repl-local-e2e-4k9w"
}

variable "rewind_password" {
  type      = string
  sensitive = true
  default   = "Rew1nd-local-e2e-8m3v"
}

variable "admin_password" {
  type      = string
  sensitive = true
  default   = "Adm1n-local-e2e-2p6z"
}

variable "restapi_password" {
  type      = string
  sensitive = true
  default   = "Rest-local-e2e-5j1c"
}

variable "etcd_members" {
  description = "The etcd hosts, name => loopback address (an odd number)."
  type        = map(string)
  default = {
    etcd1 = "127.0.0.11"
    etcd2 = "127.0.0.12"
    etcd3 = "127.0.0.13"
  }
}

variable "db_nodes" {
  description = "The database hosts, name => loopback address."
  type        = map(string)
  default = {
    node1 = "127.0.0.21"
    node2 = "127.0.0.22"
    node3 = "127.0.0.23"
  }
}

# Cluster-wide settings the Day-2 tests change; each is applied live (no host is replaced).
variable "parameters" {
  description = "PostgreSQL parameters merged over the example's own (live; some need a restart)."
  type        = map(string)
  default     = {}
}

variable "extra_pg_hba" {
  description = "pg_hba lines after the example's own (live)."
  type        = list(string)
  default     = []
}

variable "ttl" {
  description = "Patroni's leader key TTL (live)."
  type        = number
  default     = 20
}

variable "loop_wait" {
  description = "Patroni's HA loop interval (live)."
  type        = number
  default     = 5
}

variable "synchronous_mode" {
  description = "Synchronous replication (live)."
  type        = bool
  default     = true
}

variable "restart" {
  description = "`never` (report pending restarts) or `rolling` (restart at apply, one member at a time)."
  type        = string
  default     = "rolling"
}

# Per-host settings and the backup set-up: they travel in each host's bundle and are applied by its
# reconcile unit (no host is replaced). The Day-2 tests change them.
variable "nofailover" {
  description = "Nodes tagged nofailover (never promoted)."
  type        = list(string)
  default     = []
}

variable "local_parameters" {
  description = "PostgreSQL parameters of one node only, node => {name => value}."
  type        = map(map(string))
  default     = {}
}

variable "retention_full" {
  description = "Full backups pgBackRest keeps."
  type        = number
  default     = 2
}

variable "process_max" {
  description = "pgBackRest's parallel processes."
  type        = number
  default     = 2
}

variable "full_backup_schedule" {
  description = "When full backups run (cron syntax)."
  type        = string
  default     = "0 1 * * 0"
}

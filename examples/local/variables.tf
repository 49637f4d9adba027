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

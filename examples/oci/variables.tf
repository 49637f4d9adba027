variable "region" {
  description = "OCI region, e.g. us-ashburn-1."
  type        = string
  default     = "us-ashburn-1"
}

variable "home_region" {
  description = "The tenancy's home region, where IAM resources must be created (often differs from region)."
  type        = string
}

variable "backup_user_email" {
  description = "E-mail address of the backup user; tenancies with identity domains refuse a user without one."
  type        = string
}

variable "tenancy_ocid" {
  description = "OCID of the tenancy (IAM users, groups and policies live there)."
  type        = string
}

variable "compartment_ocid" {
  description = "OCID of the compartment for every other resource."
  type        = string
}

variable "image_ocid" {
  description = "Oracle Linux 9 image for the instances (PGDG packages are installed by cloud-init)."
  type        = string
}

variable "ssh_public_key" {
  description = "Public key for the image's default user (opc)."
  type        = string
}

variable "shape" {
  description = "Instance shape."
  type        = string
  default     = "VM.Standard.E4.Flex"
}

variable "vcn_cidr" {
  type    = string
  default = "10.0.0.0/16"
}

variable "subnet_cidr" {
  type    = string
  default = "10.0.1.0/24"
}

variable "client_cidrs" {
  description = "Networks allowed to reach PostgreSQL through the load balancer. The load balancer preserves the client's address, so these are the clients' own networks (in pg_hba and the security list)."
  type        = list(string)
  default     = ["10.0.0.0/16"]
}

variable "volume_gb" {
  description = "Size of each database block volume (data, WAL, log, temp), in GB; created with the instance."
  type        = map(number)
  default     = { data = 100, wal = 50, log = 50, temp = 50 }
}

variable "vault_secret_ids" {
  description = "OCI Vault secret OCIDs of the passwords: keys superuser, replication, rewind, restapi."
  type        = map(string)
}

variable "vault_id" {
  description = "OCID of the OCI Vault that holds the cluster's secrets (the passwords of vault_secret_ids, and the S3 secret key this example stores)."
  type        = string
}

variable "vault_key_id" {
  description = "OCID of the Vault's master encryption key for the S3 secret key's secret."
  type        = string
}

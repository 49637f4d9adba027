terraform {
  required_version = ">= 1.5"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 5.0"
    }
    pgha = {
      source = "pgha/pgha"
    }
  }
}

provider "oci" {
  region = var.region
}

# IAM resources (users, groups, dynamic groups, policies) can only be created in the tenancy's
# home region; everything else lives in var.region.
provider "oci" {
  alias  = "home"
  region = var.home_region
}

provider "pgha" {}

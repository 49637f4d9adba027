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

provider "pgha" {}

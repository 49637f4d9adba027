terraform {
  required_version = ">= 1.4" # terraform_data

  required_providers {
    pgha = { source = "pgha/pgha" }
  }
}

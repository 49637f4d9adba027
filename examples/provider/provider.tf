terraform {
  required_providers {
    pgha = {
      source = "pgha/pgha"
    }
  }
}

# The provider takes no arguments: everything is configured on the resources, and nothing
# is contacted while planning.
provider "pgha" {}

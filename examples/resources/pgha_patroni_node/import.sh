# By name: the next apply fills in the arguments (the cluster's spec included) from the
# configuration and renders the outputs in place.
terraform import 'pgha_patroni_node.db["pg-db-01"]' pg-db-01

# A JSON object of the arguments also works (blocks as objects, `cluster` being the cluster's
# `spec` text); the plan after such an import is empty when it matches the configuration.

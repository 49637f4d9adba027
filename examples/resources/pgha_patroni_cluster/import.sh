# By the cluster's name (its Patroni scope): the next apply fills in the arguments from the
# configuration and brings the running cluster's dynamic configuration to them.
terraform import pgha_patroni_cluster.main pg-ha-cluster

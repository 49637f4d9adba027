# By name: the state holds only the name until the next apply, which fills in the arguments
# from the configuration and renders the outputs (an in-place update, never a replacement).
terraform import 'pgha_etcd_member.etcd["pg-etcd-01"]' pg-etcd-01

# By the arguments, as a JSON object with the attribute and block names of the configuration
# (blocks as objects): the plan after the import is empty when they match the configuration.
terraform import 'pgha_etcd_member.etcd["pg-etcd-01"]' \
  '{"name":"pg-etcd-01","address":"10.0.1.11","cluster_name":"pg-ha-cluster","members":{"pg-etcd-01":"10.0.1.11","pg-etcd-02":"10.0.1.12","pg-etcd-03":"10.0.1.13"}}'

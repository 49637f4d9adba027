locals {
  etcd_members = {
    "pg-etcd-01" = "10.0.1.11"
    "pg-etcd-02" = "10.0.1.12"
    "pg-etcd-03" = "10.0.1.13"
  }
}

# One resource per member; all of them share the same `members` map.
resource "pgha_etcd_member" "etcd" {
  for_each = local.etcd_members

  name         = each.key
  address      = each.value
  members      = local.etcd_members
  cluster_name = "pg-ha-cluster"
}

# The Patroni cluster takes the members' client endpoints:
#   dcs_hosts = [for m in pgha_etcd_member.etcd : m.client_endpoint]
# and each instance its cloud-init:
#   user_data = base64encode(pgha_etcd_member.etcd["pg-etcd-01"].cloud_init)
#
# On a running cluster, growing the map (3 -> 5) adds the new members through etcd's API (as
# learners, promoted by their hosts) and leaves the others' documents alone; shrinking it
# removes members, refused at plan when a majority would go at once. Replace one member with
#   terraform apply -replace='pgha_etcd_member.etcd["pg-etcd-02"]'

# A real three-node HA PostgreSQL cluster on this machine, from the same resources as on OCI:
# three pgha_etcd_member, a pgBackRest stanza on an S3-compatible store with TLS, three
# pgha_patroni_node. Only the hosts are local: each is a loopback address (default ports, as if
# on separate machines) and a root directory, and tests/standin/pgha-standin does for it what
# cloud-init and systemd do for a VM: it applies the host's `cloud_init` document as it is.
#
#   etcd1..3  127.0.0.11-13     node1..3  127.0.0.21-23   (etcd4..5, node4: 127.0.0.14-15, .24)
#   S3        127.0.0.30:443    (moto behind stunnel; stands in for OCI Object Storage)
#   HAProxy   127.0.0.40:5432   (health check GET /primary on 8008; stands in for the OCI NLB)
#   metadata  127.0.0.41:80     (each host's bundle; stands in for OCI's instance metadata)
#
#   make demo        # or: terraform apply (as root, with the provider from a dev override)
#   make demo-down   # terraform destroy: every process stopped, every host directory removed

locals {
  cluster_name = "pgha"
  repo_dir     = var.repo_dir != "" ? var.repo_dir : abspath("${path.module}/../..")
  standin      = "${local.repo_dir}/tests/standin/pgha-standin"
  services     = "${local.repo_dir}/tests/standin/local-services"

  # var.etcd_members: etcd1..3 on 127.0.0.11-13 by default; growing it to five (127.0.0.14-15)
  # adds members to the running cluster, shrinking it removes them.
  etcd_members = var.etcd_members
  # var.db_nodes: node1..3 on 127.0.0.21-23 by default; a fourth can be added there.
  db_nodes   = var.db_nodes
  s3_address = "127.0.0.30"
  imds       = "127.0.0.41:80"
  bucket     = "pgbackrest"
}

resource "pgha_etcd_member" "etcd" {
  for_each = local.etcd_members

  name         = each.key
  address      = each.value
  members      = local.etcd_members
  cluster_name = local.cluster_name

  platform {
    preset = "debian"
    root   = "${var.work_dir}/hosts/${each.key}"
  }
}

# The stanza: one name, one repository, written once for every node. Each node renders its own
# pgbackrest.conf and commands from it with its own platform block (here: its own `root`).
resource "pgha_pgbackrest_stanza" "main" {
  name           = local.cluster_name
  retention_full = var.retention_full
  process_max    = var.process_max

  schedule {
    full = var.full_backup_schedule
  }

  s3 {
    bucket     = local.bucket
    region     = "us-east-1"
    endpoint   = local.s3_address
    path       = "/pgbackrest"
    ca_file    = "${var.work_dir}/s3/ca.crt"
    access_key = "pgha-test-key"    # moto accepts any key
    secret_key = "pgha-test-secret" # (inline: in the state and in pgbackrest.conf)
  }

  platform {
    preset          = "debian"
    patroni_bin_dir = var.patroni_bin_dir
  }
}

# Everything cluster-wide, owned once. Its settings live in Patroni's dynamic configuration: a
# change is applied to the running cluster at apply (PATCH /config through the REST API) and never
# replaces a host. The variables below are what the Day-2 tests change.
resource "pgha_patroni_cluster" "main" {
  name             = local.cluster_name
  members          = local.db_nodes
  dcs_hosts        = [for m in pgha_etcd_member.etcd : m.client_endpoint]
  stanza           = pgha_pgbackrest_stanza.main.spec
  postgres_version = 15 # Debian 12's

  # The provider's defaults are ttl 20, loop_wait 5, retry_timeout 5, synchronous_mode on.
  ttl              = var.ttl
  loop_wait        = var.loop_wait
  synchronous_mode = var.synchronous_mode
  restart          = var.restart
  wait_for_healthy = true
  # A node taken out of `db_nodes` leaves no replication slot behind (Patroni 4 keeps a removed
  # member's slot 30 minutes by default). Replicas that were away catch up from the archive.
  member_slots_ttl = 0

  parameters = merge({
    password_encryption = "scram-sha-256"
    max_connections     = 100
    shared_buffers      = "32MB"
  }, var.parameters)
  client_cidrs = ["127.0.0.0/8"]
  # On one machine a connection to 127.0.0.2x leaves from 127.0.0.1 (the loopback route's source
  # address), not from the node's own address: streaming replication needs this line besides
  # the per-node ones. Separate hosts do not.
  pg_hba = concat(["host replication replicator 127.0.0.1/32 scram-sha-256"], var.extra_pg_hba)

  initdb {
    encoding       = "UTF8"
    locale         = "C.UTF-8"
    data_checksums = true
  }

  admin_user {
    name     = "app_admin"
    options  = ["createrole", "createdb"]
    password = var.admin_password
  }

  superuser_password   = var.superuser_password
  replication_password = var.replication_password
  rewind_password      = var.rewind_password
  restapi_username     = "patroni"
  restapi_password     = var.restapi_password
}

# Per host only: name, address, tags, local parameters, platform. Tags and local parameters
# (like the stanza's retention and schedule, and the passwords) reach the running host through its
# bundle; only name, address and platform replace it.
resource "pgha_patroni_node" "db" {
  for_each = local.db_nodes

  cluster          = pgha_patroni_cluster.main.node_specs[each.key]
  name             = each.key
  address          = each.value
  local_parameters = lookup(var.local_parameters, each.key, {})

  tags {
    nofailover = contains(var.nofailover, each.key)
  }

  platform {
    preset          = "debian"
    root            = "${var.work_dir}/hosts/${each.key}"
    patroni_bin_dir = var.patroni_bin_dir
    # On OCI leave it unset: the instance metadata service at 169.254.169.254.
    metadata_url = "http://${local.imds}/{host}/opc/v2/instance/metadata/pgha_bundle"
    # OCI's default is 60 s; here a change shows within seconds.
    reconcile_interval_seconds = 10
  }
}

# ------------------------------------------------------------------------------------------------
# The machines. On OCI these are oci_core_instance (user_data = base64encode(cloud_init)),
# oci_objectstorage_bucket and oci_network_load_balancer; here they are processes on loopback.

resource "terraform_data" "s3" {
  input = {
    work     = var.work_dir
    bucket   = local.bucket
    services = local.services
  }

  provisioner "local-exec" {
    command = "'${self.input.services}' s3-up '${self.input.work}' '${self.input.bucket}'"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "'${self.input.services}' s3-down '${self.input.work}'"
  }
}

# The instance metadata service. On OCI the bundle is `oci_core_instance.metadata.pgha_bundle`,
# updated in place when it changes; here each host's value is a file the stand-in serves.
resource "terraform_data" "imds" {
  input = {
    work     = var.work_dir
    listen   = local.imds
    services = local.services
  }

  provisioner "local-exec" {
    command = "'${self.input.services}' imds-up '${self.input.work}' '${self.input.listen}'"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "'${self.input.services}' imds-down '${self.input.work}'"
  }
}

# A host's metadata value: rewritten whenever its bundle changes (an in-place update on OCI).
resource "terraform_data" "db_bundle" {
  for_each   = local.db_nodes
  depends_on = [terraform_data.imds]

  triggers_replace = [pgha_patroni_node.db[each.key].bundle_hash]

  input = {
    host     = each.key
    work     = var.work_dir
    services = local.services
  }

  provisioner "local-exec" {
    command     = "'${self.input.services}' imds-put '${self.input.work}' '${self.input.host}' pgha_bundle PGHA_BUNDLE"
    environment = { PGHA_BUNDLE = pgha_patroni_node.db[each.key].bundle }
  }
}

resource "terraform_data" "etcd_host" {
  for_each   = local.etcd_members
  depends_on = [terraform_data.s3]

  # A changed document means a new instance (cloud-init runs only at first boot). Only its hash
  # is kept here: the document holds secrets, and a host's recorded inputs are shown in the plan
  # that removes it.
  triggers_replace = [nonsensitive(sha256(pgha_etcd_member.etcd[each.key].cloud_init))]

  input = {
    host    = each.key
    tier    = 10
    root    = "${var.work_dir}/hosts/${each.key}"
    work    = var.work_dir
    standin = local.standin
  }

  provisioner "local-exec" {
    command     = "'${self.input.standin}' up --host '${self.input.host}' --root '${self.input.root}' --work '${self.input.work}' --tier ${self.input.tier} --cloud-init-env PGHA_CLOUD_INIT 2>>'${self.input.work}/logs/${self.input.host}-cloud-init.log'"
    environment = { PGHA_CLOUD_INIT = pgha_etcd_member.etcd[each.key].cloud_init }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "'${self.input.standin}' down --host '${self.input.host}' --root '${self.input.root}' --work '${self.input.work}' 2>>'${self.input.work}/logs/${self.input.host}-cloud-init.log'"
  }
}

resource "terraform_data" "db_host" {
  for_each = local.db_nodes
  # etcd and the object store first: the bootstrap script asks the repository whether there is
  # a backup to restore before anything else.
  depends_on = [terraform_data.s3, terraform_data.etcd_host, terraform_data.db_bundle]

  triggers_replace = [nonsensitive(sha256(pgha_patroni_node.db[each.key].cloud_init))]

  input = {
    host    = each.key
    tier    = 50
    root    = "${var.work_dir}/hosts/${each.key}"
    work    = var.work_dir
    standin = local.standin
  }

  provisioner "local-exec" {
    command     = "'${self.input.standin}' up --host '${self.input.host}' --root '${self.input.root}' --work '${self.input.work}' --tier ${self.input.tier} --cloud-init-env PGHA_CLOUD_INIT 2>>'${self.input.work}/logs/${self.input.host}-cloud-init.log'"
    environment = { PGHA_CLOUD_INIT = pgha_patroni_node.db[each.key].cloud_init }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "'${self.input.standin}' down --host '${self.input.host}' --root '${self.input.root}' --work '${self.input.work}' 2>>'${self.input.work}/logs/${self.input.host}-cloud-init.log'"
  }
}

resource "terraform_data" "load_balancer" {
  depends_on = [terraform_data.db_host]

  input = {
    work     = var.work_dir
    services = local.services
    backends = join(" ", [for n in pgha_patroni_node.db : n.address])
  }

  provisioner "local-exec" {
    command = "'${self.input.services}' lb-up '${self.input.work}' ${self.input.backends}"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "'${self.input.services}' lb-down '${self.input.work}'"
  }
}

# ------------------------------------------------------------------------------------------------
# The running cluster as Patroni reports it (what `patronictl list` shows). Read after the hosts
# exist; the check warns (it never fails an apply) when there is not one leader with every
# replica streaming.

data "pgha_patroni_cluster_status" "now" {
  endpoints        = pgha_patroni_cluster.main.restapi_urls
  expected_members = length(local.db_nodes)
  wait_for_healthy = true
  timeout          = "5m"
  # Read after the hosts and after any live change of the cluster (a rolling restart moves the
  # leader), so what it shows is the cluster as the apply left it.
  depends_on = [terraform_data.db_host, pgha_patroni_cluster.main]
}

check "one_leader_all_streaming" {
  assert {
    condition     = data.pgha_patroni_cluster_status.now.healthy
    error_message = "The cluster is not one leader with every replica streaming: ${jsonencode(data.pgha_patroni_cluster_status.now.members)}"
  }
}

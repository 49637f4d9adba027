data "oci_identity_availability_domains" "ads" {
  compartment_id = var.tenancy_ocid
}

locals {
  ads = data.oci_identity_availability_domains.ads.availability_domains[*].name
  # Three ADs where the region has them; otherwise one AD and three fault domains.
  placement = {
    for i in range(3) : i => {
      availability_domain = length(local.ads) >= 3 ? local.ads[i] : local.ads[0]
      fault_domain        = length(local.ads) >= 3 ? null : "FAULT-DOMAIN-${i + 1}"
    }
  }

  # Block volumes of each database host, created and attached at launch (so they are there when
  # cloud-init formats and mounts them), at consistent device paths.
  device = {
    data = "/dev/oracleoci/oraclevdb"
    wal  = "/dev/oracleoci/oraclevdc"
    log  = "/dev/oracleoci/oraclevdd"
    temp = "/dev/oracleoci/oraclevde"
  }

  # The pgha_patroni_node `platform` block has no volumes yet, so the database hosts' cloud-init
  # gets them merged in here: a volume is formatted only when blank (overwrite = false), mounted
  # with nofail, and patroni.service waits for the mounts (RequiresMountsFor) so PostgreSQL never
  # starts on the boot disk. With `platform.volumes` in a cluster specification, `pgha render`
  # emits all of this itself (docs/cluster-spec.md).
  mount_point = { data = "/pgdata", wal = "/pgwal", log = "/pglog", temp = "/pgtemp" }
  volume_cloud_config = {
    fs_setup = [for role, dev in local.device : {
      label = "pgha-${role}", filesystem = "xfs", device = dev, partition = "any", overwrite = false
      # mkfs only when blkid finds nothing on the device (see pgha-config/src/cloud_init.rs).
      cmd = "blkid -p %(device)s >/dev/null 2>&1; [ $? -ne 2 ] || mkfs.%(filesystem)s -L %(label)s %(device)s"
    }]
    mounts = [for role, dev in local.device : [dev, local.mount_point[role], "xfs", "defaults,noatime,nofail", "0", "2"]]
  }
  mounts_drop_in = {
    path        = "/etc/systemd/system/patroni.service.d/volumes.conf"
    owner       = "root:root"
    permissions = "0644"
    defer       = true
    content     = "[Unit]\nRequiresMountsFor=${join(" ", values(local.mount_point))}\n"
  }
  db_user_data = {
    for name, node in pgha_patroni_node.db : name => "#cloud-config\n${yamlencode(merge(
      yamldecode(node.cloud_init),
      local.volume_cloud_config,
      { write_files = concat(yamldecode(node.cloud_init).write_files, [local.mounts_drop_in]) },
    ))}"
  }
}

resource "oci_core_instance" "etcd" {
  for_each = pgha_etcd_member.etcd

  compartment_id      = var.compartment_ocid
  display_name        = each.key
  availability_domain = local.placement[local.host_index[each.key]].availability_domain
  fault_domain        = local.placement[local.host_index[each.key]].fault_domain
  shape               = var.shape

  shape_config {
    ocpus         = 1
    memory_in_gbs = 8
  }

  source_details {
    source_type = "image"
    source_id   = var.image_ocid
  }

  create_vnic_details {
    subnet_id        = oci_core_subnet.private.id
    private_ip       = each.value.address
    hostname_label   = each.key
    assign_public_ip = false
  }

  metadata = {
    ssh_authorized_keys = var.ssh_public_key
    # cloud-init runs once, at first boot: a change here replaces the instance.
    user_data = base64encode(each.value.cloud_init)
  }
}

resource "oci_core_instance" "db" {
  for_each = pgha_patroni_node.db

  compartment_id      = var.compartment_ocid
  display_name        = each.key
  availability_domain = local.placement[local.host_index[each.key]].availability_domain
  fault_domain        = local.placement[local.host_index[each.key]].fault_domain
  shape               = var.shape

  shape_config {
    ocpus         = 2
    memory_in_gbs = 32
  }

  source_details {
    source_type = "image"
    source_id   = var.image_ocid
  }

  create_vnic_details {
    subnet_id        = oci_core_subnet.private.id
    private_ip       = each.value.address
    hostname_label   = each.key
    assign_public_ip = false
  }

  dynamic "launch_volume_attachments" {
    for_each = local.device
    content {
      type                                = "paravirtualized"
      device                              = launch_volume_attachments.value
      display_name                        = "${each.key}-${launch_volume_attachments.key}"
      is_pv_encryption_in_transit_enabled = true
      launch_create_volume_details {
        volume_creation_type = "ATTRIBUTES"
        compartment_id       = var.compartment_ocid
        display_name         = "${each.key}-${launch_volume_attachments.key}"
        size_in_gbs          = var.volume_gb[launch_volume_attachments.key]
      }
    }
  }

  metadata = {
    ssh_authorized_keys = var.ssh_public_key
    # gzip: the merged document comes close to OCI's 32,000-byte limit in base64; cloud-init
    # unpacks gzip'd user data itself.
    user_data = base64gzip(local.db_user_data[each.key])
    # The host bundle: every file that may change while the host runs (patroni.yml with the
    # node's tags and local parameters, pgbackrest.conf, the schedule, the scripts) and the role
    # passwords. A change of any other metadata key updates the instance in place; the host's
    # reconcile timer reads it from the instance metadata service and applies it. user_data and
    # this value together must stay under 32,000 bytes: the node's plan fails with the sizes
    # when they do not.
    pgha_bundle = pgha_patroni_node.db[each.key].bundle
  }
  # Cluster-wide settings (pgha_patroni_cluster) are applied live through Patroni's REST API;
  # a node's own settings travel in `pgha_bundle`. cloud_init changes only with what needs a
  # new machine (identity, addresses, ports, platform, versions), so no ignore_changes here.
}

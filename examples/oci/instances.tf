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

  volumes = {
    for pair in setproduct(keys(local.db_nodes), ["data", "wal", "temp", "log"]) :
    "${pair[0]}-${pair[1]}" => { node = pair[0], role = pair[1] }
  }
  # Consistent device paths, so an image or boot script can mount them by name.
  device = {
    data = "/dev/oracleoci/oraclevdb"
    wal  = "/dev/oracleoci/oraclevdc"
    temp = "/dev/oracleoci/oraclevdd"
    log  = "/dev/oracleoci/oraclevde"
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

  metadata = {
    ssh_authorized_keys = var.ssh_public_key
    user_data           = base64encode(each.value.cloud_init)
  }

  # Cluster-wide settings (pgha_patroni_cluster: DCS settings, parameters, pg_hba) are applied
  # live and never change a node's cloud_init. A node's own settings (tags, local_parameters,
  # watchdog) do change it, but must not rebuild a database host: change them on the host as
  # well and keep the instance. Remove this to let such a change rebuild the host.
  lifecycle {
    ignore_changes = [metadata["user_data"]]
  }
}

resource "oci_core_volume" "db" {
  for_each = local.volumes

  compartment_id      = var.compartment_ocid
  availability_domain = oci_core_instance.db[each.value.node].availability_domain
  display_name        = each.key
  size_in_gbs         = var.volume_gb[each.value.role]
}

resource "oci_core_volume_attachment" "db" {
  for_each = local.volumes

  attachment_type                     = "paravirtualized"
  instance_id                         = oci_core_instance.db[each.value.node].id
  volume_id                           = oci_core_volume.db[each.key].id
  device                              = local.device[each.value.role]
  is_pv_encryption_in_transit_enabled = true
}

resource "oci_core_vcn" "pg" {
  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr]
  display_name   = "pg-ha"
  dns_label      = "pgha"
}

resource "oci_core_nat_gateway" "pg" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.pg.id
  display_name   = "pg-ha-nat"
}

data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

# Object Storage (backups) and Vault through the service gateway, packages through NAT.
resource "oci_core_service_gateway" "pg" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.pg.id
  display_name   = "pg-ha-services"
  services {
    service_id = data.oci_core_services.all.services[0].id
  }
}

resource "oci_core_route_table" "private" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.pg.id
  display_name   = "pg-ha-private"

  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_nat_gateway.pg.id
  }
  route_rules {
    destination       = data.oci_core_services.all.services[0].cidr_block
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.pg.id
  }
}

resource "oci_core_security_list" "private" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.pg.id
  display_name   = "pg-ha-private"

  egress_security_rules {
    destination = "0.0.0.0/0"
    protocol    = "all"
  }

  # PostgreSQL, Patroni REST API (also the load balancer's health checks, which come from its
  # own address in the subnet), etcd client and peer, SSH: from inside the VCN.
  dynamic "ingress_security_rules" {
    for_each = { postgres = [5432, 5432], patroni = [8008, 8008], etcd = [2379, 2380], ssh = [22, 22] }
    content {
      protocol    = "6"
      source      = var.vcn_cidr
      description = ingress_security_rules.key
      tcp_options {
        min = ingress_security_rules.value[0]
        max = ingress_security_rules.value[1]
      }
    }
  }

  # Clients, through the load balancer: it preserves their source address
  # (is_preserve_source in nlb.tf), so the hosts see the clients' own networks here and in
  # pg_hba (client_cidrs), never the balancer's address.
  dynamic "ingress_security_rules" {
    for_each = toset(var.client_cidrs)
    content {
      protocol    = "6"
      source      = ingress_security_rules.value
      description = "PostgreSQL clients (read-write 5432, read-only 5433 on the load balancer)"
      tcp_options {
        min = 5432
        max = 5432
      }
    }
  }

  # Path MTU discovery: "fragmentation needed" must reach the hosts, or large packets over a
  # smaller-MTU path (VPN, FastConnect) stall.
  ingress_security_rules {
    protocol    = "1"
    source      = "0.0.0.0/0"
    description = "ICMP type 3 code 4 (path MTU discovery)"
    icmp_options {
      type = 3
      code = 4
    }
  }
  ingress_security_rules {
    protocol    = "1"
    source      = var.vcn_cidr
    description = "ICMP destination unreachable inside the VCN"
    icmp_options {
      type = 3
    }
  }
}

resource "oci_core_subnet" "private" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.pg.id
  cidr_block                 = var.subnet_cidr
  display_name               = "pg-ha-private"
  dns_label                  = "db"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.private.id
  security_list_ids          = [oci_core_security_list.private.id]
}

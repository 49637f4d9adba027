# By name: the next apply fills in the arguments and renders the outputs in place.
terraform import pgha_pgbackrest_stanza.main pg-ha-cluster

# By the arguments as JSON (blocks as objects): the plan after the import is empty when they
# match the configuration. Give secrets as references here, not inline.
terraform import pgha_pgbackrest_stanza.main \
  '{"name":"pg-ha-cluster","retention_full":4,"s3":{"bucket":"pg-backup","region":"us-ashburn-1","namespace":"examplenamespace","access_key_ref":{"env_file":"/etc/pgha/s3.env","variable":"S3_ACCESS_KEY"},"secret_key_ref":{"oci_vault_secret_id":"ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamples3secret"}},"schedule":{"full":"0 1 * * 0","diff":"0 1 * * 1-6"},"options":{"compress-type":"zst"}}'

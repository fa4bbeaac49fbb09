node_pool "gpu_*" {
  policy = "write"
  capabilities = ["delete"]
}
plugin { policy = "list" }
operator { capabilities = ["snapshot-save"] }

namespace "*" {
  policy = "write"
  capabilities = ["alloc-node-exec", "submit-job", "dispatch-job", "read-logs"]
  variables {
    path "*" { capabilities = ["write", "read", "destroy", "list"] }
  }
}
node { policy = "write" }
agent { policy = "write" }
operator { policy = "write" }
quota { policy = "write" }
plugin { policy = "write" }
node_pool "*" { policy = "write" }
host_volume "*" { policy = "write" }

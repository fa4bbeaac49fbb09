namespace "prod" {
  variables {
    path "nomad/jobs/*" { capabilities = ["read", "list"] }
    path "secret" { capabilities = ["deny"] }
  }
}

# this is a namespace rule for the "foo" namespace
namespace "foo" {
  policy = "write" # this is a policy field
  capabilities = ["alloc-exec"] # this is a capabilities list

  # this block controls access to variables in this namespace
  variables {
    path "project/*" {
      capabilities = ["read", "write"]
    }
  }
}
namespace "*" {
  policy = "read"
}
node {
  policy = "read"
}
agent {
  policy = "read"
}
operator {
  policy = "read"
}
quota {
  policy = "read"
}
plugin {
  policy = "list"
}

host_volume "ca-certs" { capabilities = ["mount-readonly"] }

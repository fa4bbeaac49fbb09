namespace "x" { policy = "read" capabilities = ["read-job"] }

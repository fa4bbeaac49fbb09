namespace "dev" { capabilities = ["list-jobs", "read-job", "scale-job"] }

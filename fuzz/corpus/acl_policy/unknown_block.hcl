nodes { policy = "read" }

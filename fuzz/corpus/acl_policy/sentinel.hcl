sentinel { policy = "read" }

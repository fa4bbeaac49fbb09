job "web" {
  group "g" {
    network {
      port "http" {}
    }

    service {
      provider = "nomad"
      port     = "https"
    }

    task "t" {
      driver = "raw_exec"
    }
  }
}

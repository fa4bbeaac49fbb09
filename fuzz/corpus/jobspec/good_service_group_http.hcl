job "web" {
  datacenters = ["dc1"]

  group "frontend" {
    count = 2

    network {
      port "http" {}
    }

    service {
      name        = "web"
      provider    = "nomad"
      port        = "http"
      tags        = ["urlprefix-/", "v1"]
      canary_tags = ["canary"]

      meta {
        team = "edge"
      }

      check {
        name     = "alive"
        type     = "http"
        path     = "/health"
        method   = "GET"
        interval = "10s"
        timeout  = "2s"

        header {
          X-Probe = ["nomadish"]
        }
      }
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "busybox"
        args    = ["httpd", "-f", "-p", "${NOMAD_PORT_http}"]
      }
    }
  }
}

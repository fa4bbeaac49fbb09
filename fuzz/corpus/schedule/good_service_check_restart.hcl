job "api" {
  group "api" {
    network {
      port "http" {}
      port "admin" {}
    }

    update {
      health_check     = "checks"
      min_healthy_time = "5s"
      healthy_deadline = "1m"
    }

    task "api" {
      driver = "raw_exec"

      config {
        command = "sleep"
        args    = ["3600"]
      }

      service {
        name     = "api"
        provider = "nomad"
        port     = "http"

        check_restart {
          limit           = 3
          grace           = "30s"
          ignore_warnings = true
        }

        check {
          type     = "http"
          protocol = "https"
          port     = "admin"
          path     = "/ready"
          interval = "10s"
          timeout  = "2s"

          tls_skip_verify = true
          on_update       = "ignore"

          check_restart {
            limit = 5
          }
        }
      }
    }
  }
}

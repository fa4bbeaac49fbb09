job "cache" {
  group "redis" {
    network {
      port "db" {
        static = 6379
      }
    }

    task "redis" {
      driver = "raw_exec"

      config {
        command = "redis-server"
      }

      service {
        provider     = "nomad"
        port         = "db"
        address_mode = "host"
        on_update    = "ignore_warnings"

        check {
          type                     = "tcp"
          interval                 = "5s"
          timeout                  = "1s"
          success_before_passing   = 2
          failures_before_critical = 3
          initial_status           = "warning"
        }
      }
    }
  }
}

job "worker" {
  group "w" {
    network {
      port "metrics" {
        to = 9100
      }
    }

    service {
      name     = "worker-metrics"
      provider = "nomad"
      port     = "metrics"
      task     = "agent"

      check {
        type     = "script"
        command  = "/bin/sh"
        args     = ["-c", "test -f /tmp/ready"]
        interval = "30s"
        timeout  = "5s"
      }
    }

    task "agent" {
      driver = "raw_exec"

      config {
        command = "sleep"
        args    = ["3600"]
      }

      service {
        name     = "worker-self"
        provider = "nomad"
        port     = 9200
        address  = "127.0.0.1"

        check {
          name     = "self"
          type     = "script"
          command  = "true"
          interval = "15s"
          timeout  = "3s"
        }
      }
    }
  }
}

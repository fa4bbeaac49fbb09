# A long-running service: three copies of a small loop that ticks every two seconds.
job "web" {
  type        = "service"
  datacenters = ["*"]

  group "web" {
    count = 3

    restart {
      attempts = 3
      delay    = "5s"
    }

    task "ticker" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo \"tick $(date +%s) from alloc ${NOMAD_ALLOC_INDEX}\"; sleep 2; done"]
      }

      env {
        GREETING = "hello from ${NOMAD_TASK_NAME}"
      }

      resources {
        cpu    = 50
        memory = 32
      }

      kill_timeout = "10s"
    }
  }
}

# Partial restart and reschedule blocks merge with the batch defaults; a task's restart
# block merges with its group's.
job "report" {
  type = "batch"

  reschedule {
    attempts = 3
  }

  group "report" {
    restart {
      attempts = 1
    }

    task "generate" {
      driver = "raw_exec"

      config {
        command = "/usr/bin/make"
        args    = ["report"]
      }

      restart {
        delay = "30s"
      }
    }

    task "upload" {
      driver = "raw_exec"

      config {
        command = "/usr/bin/upload"
      }
    }
  }
}

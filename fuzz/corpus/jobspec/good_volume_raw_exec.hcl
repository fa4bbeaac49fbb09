# raw_exec reaches a host volume through a link at <task dir>/<destination>.
job "volume-raw-exec" {
  type = "batch"

  group "writer" {
    volume "scratch" {
      type      = "host"
      source    = "scratch"
      read_only = false
    }

    task "write" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "date > shared/stamp"]
      }

      volume_mount {
        volume      = "scratch"
        destination = "shared"
        read_only   = false
      }
    }
  }
}

# Task lifecycle hooks: a prestart init task, a prestart sidecar, a poststart task and a
# poststop cleanup task around the main task.
job "lifecycle" {
  datacenters = ["dc1"]

  group "app" {
    task "init" {
      driver = "raw_exec"

      lifecycle {
        hook = "prestart"
      }

      config {
        command = "/bin/sh"
        args    = ["-c", "date > ${NOMAD_ALLOC_DIR}/init"]
      }
    }

    task "proxy" {
      driver = "raw_exec"

      lifecycle {
        hook    = "prestart"
        sidecar = true
      }

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }

    task "main" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }

    task "announce" {
      driver = "raw_exec"

      lifecycle {
        hook = "poststart"
      }

      config {
        command = "/bin/true"
      }
    }

    task "cleanup" {
      driver = "raw_exec"

      lifecycle {
        hook    = "poststop"
        sidecar = false
      }

      config {
        command = "/bin/true"
      }
    }
  }
}

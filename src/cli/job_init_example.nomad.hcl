# An example job, written by `nomadish job init`. Run it with a dev agent:
#
#   nomadish agent -dev &
#   nomadish job run example.nomad.hcl
#   nomadish job status example
#
# The `job` block is the top of the file; its label is the job's ID.
job "example" {
  # "service" jobs run until stopped; "batch" jobs run to completion.
  type = "service"

  # The datacenters the job may run in; "*" matches every one.
  datacenters = ["*"]

  # A group is a set of tasks placed together on one node; `count` is how many
  # copies (allocations) of the group run.
  group "echo" {
    count = 1

    # What the client does when a task exits or fails.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # A task is one process, started by a driver.
    task "echo" {
      # raw_exec runs a command on the node without isolation.
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello from $NOMAD_ALLOC_ID; sleep 10; done"]
      }

      # Environment variables for the task.
      env {
        GREETING = "hello"
      }

      # What the task needs: CPU in MHz, memory in MB.
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

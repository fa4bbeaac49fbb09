# A batch job that says hello once and exits.
#
#   nomadish job run examples/hello.hcl
#   nomadish alloc logs <alloc-id>
job "hello" {
  type        = "batch"
  datacenters = ["*"]

  group "hello" {
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          "echo Hello from nomadish; echo alloc $NOMAD_ALLOC_ID; echo job $NOMAD_JOB_NAME, group $NOMAD_GROUP_NAME, task $NOMAD_TASK_NAME; echo running on $(hostname)",
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

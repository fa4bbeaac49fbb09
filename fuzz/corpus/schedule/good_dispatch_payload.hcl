# A parameterized batch job whose payload is written into the task's local/ directory.
job "render" {
  type = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["input"]
    meta_optional = ["format"]
  }

  group "r" {
    task "render" {
      driver = "raw_exec"

      config {
        command = "/bin/cat"
        args    = ["local/input.txt"]
      }

      dispatch_payload {
        file = "input.txt"
      }
    }
  }
}

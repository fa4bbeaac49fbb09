# A batch job that counts down from 5 to 1, one number a second, then exits.
job "countdown" {
  type = "batch"

  group "countdown" {
    task "countdown" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "for i in 5 4 3 2 1; do echo $i; sleep 1; done; echo liftoff"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

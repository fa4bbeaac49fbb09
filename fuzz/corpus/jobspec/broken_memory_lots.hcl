job "x" {
  group "g" {
    task "t" {
      driver = "raw_exec"

      resources {
        cpu    = 100
        memory = "lots"
      }
    }
  }
}

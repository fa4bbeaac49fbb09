job "x" {
  group {
    task "t" {
      driver = "raw_exec"
    }
  }
}

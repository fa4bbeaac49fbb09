job "x" {
  group "g" {
    countt = 2

    task "t" {
      driver = "raw_exec"
    }
  }
}

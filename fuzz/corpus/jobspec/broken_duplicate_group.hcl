job "x" {
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }

  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}

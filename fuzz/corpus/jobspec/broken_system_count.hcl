job "x" {
  type = "system"

  group "g" {
    count = 3

    task "t" {
      driver = "raw_exec"
    }
  }
}

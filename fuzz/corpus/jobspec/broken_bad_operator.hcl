job "x" {
  constraint {
    attribute = "${attr.kernel.name}"
    operator  = "like"
    value     = "linux"
  }

  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}

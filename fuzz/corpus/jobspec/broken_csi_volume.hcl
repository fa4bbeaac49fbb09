job "x" {
  group "g" {
    volume "data" {
      type   = "csi"
      source = "ebs-1"
    }

    task "t" {
      driver = "raw_exec"
    }
  }
}

job "x" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      artifact {
        source = "http://127.0.0.1/a"
        mode   = "folder"
      }
    }
  }
}

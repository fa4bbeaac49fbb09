variable "port" {
  type = number
}

job "x" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      env {
        PORT = var.port
      }
    }
  }
}

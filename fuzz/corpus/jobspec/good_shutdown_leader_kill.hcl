# Shutdown settings: a group and task shutdown_delay, a leader task and a kill_signal.
job "graceful" {
  group "web" {
    shutdown_delay = "3s"

    task "main" {
      driver         = "raw_exec"
      leader         = true
      kill_signal    = "SIGINT"
      kill_timeout   = "10s"
      shutdown_delay = "1s"

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }

    task "sidecar" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}

job "api" {
  group "api" {
    task "api" {
      driver = "raw_exec"

      config {
        command = "/usr/bin/env"
      }

      template {
        data          = "DB_USER={{ with nomadVar \"nomad/jobs/api\" }}{{ .user }}{{ end }}\n"
        destination   = "secrets/app.env"
        env           = true
        change_mode   = "signal"
        change_signal = "SIGHUP"
        splay         = "0s"
        perms         = "0600"
      }
    }
  }
}

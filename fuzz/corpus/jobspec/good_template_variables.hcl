job "web" {
  group "app" {
    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/config.txt; sleep 3600"]
      }

      template {
        data = <<-EOT
          {{ with nomadVar "nomad/jobs/web" }}user={{ .user }}{{ end }}
          {{ range nomadVarList "nomad/jobs" }}{{ .Path }}
          {{ end }}
        EOT
        destination = "local/config.txt"
      }
    }
  }
}

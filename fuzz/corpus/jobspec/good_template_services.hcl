# A web task whose configuration file lists the instances of a backend service from the
# built-in catalog and a password from a Nomad variable, re-rendered when either changes.
job "front" {
  datacenters = ["dc1"]

  group "web" {
    count = 2

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name     = "front"
      provider = "nomad"
      port     = "http"
      tags     = ["public"]

      check {
        type     = "tcp"
        interval = "5s"
        timeout  = "1s"
      }
    }

    task "web" {
      driver = "docker"

      config {
        image = "front:1.4"
        ports = ["http"]
      }

      template {
        data = <<-EOT
          {{- range nomadService "backend" }}
          upstream {{ .Address }}:{{ .Port }}
          {{- end }}
        EOT
        destination = "local/upstreams.conf"
        change_mode = "signal"

        change_signal = "SIGHUP"
      }

      template {
        data = <<-EOT
          DB_PASSWORD={{ with nomadVar "nomad/jobs/front" }}{{ .db_password }}{{ end }}
        EOT
        destination = "secrets/db.env"
        env         = true
      }
    }
  }
}

# A group asks for two operator host volumes; its tasks mount them.
job "host-volumes" {
  group "db" {
    volume "data" {
      type   = "host"
      source = "pgdata"
    }

    volume "certs" {
      type      = "host"
      source    = "tls"
      read_only = true
    }

    task "postgres" {
      driver = "docker"

      config {
        image = "postgres:16"
      }

      volume_mount {
        volume      = "data"
        destination = "/var/lib/postgresql/data"
      }

      volume_mount {
        volume           = "certs"
        destination      = "/etc/certs"
        read_only        = true
        propagation_mode = "private"
      }
    }
  }
}

# A system job: one allocation per eligible node, never rescheduled.
job "node-exporter" {
  type        = "system"
  datacenters = ["dc1", "dc2"]

  group "exporter" {
    network {
      port "metrics" {
        static = 9100
      }
    }

    task "exporter" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/node_exporter"
        args    = ["--web.listen-address=:${NOMAD_PORT_metrics}"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}

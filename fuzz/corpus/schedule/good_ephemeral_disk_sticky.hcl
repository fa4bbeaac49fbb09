# A sticky ephemeral disk: replacements prefer the previous node and keep alloc/data.
job "cache" {
  group "redis" {
    ephemeral_disk {
      size   = 1024
      sticky = true
    }

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
      }
    }
  }
}

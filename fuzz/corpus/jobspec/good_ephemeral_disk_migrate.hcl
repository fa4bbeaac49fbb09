# A migrating ephemeral disk: data follows the allocation to another node.
job "indexer" {
  type = "batch"

  group "index" {
    ephemeral_disk {
      size    = 500
      sticky  = true
      migrate = true
    }

    task "build" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }
    }
  }
}

# A zip archive artifact, verified and unpacked into local/site.
job "static-site" {
  group "web" {
    task "serve" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "ls local/site"]
      }

      artifact {
        source      = "https://example.com/releases/site.zip"
        destination = "local/site"

        options {
          checksum = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        }
      }
    }
  }
}

# Artifacts: Nomad's defaults (mode "any", destination "local/") and every option.
job "artifacts" {
  group "app" {
    task "server" {
      driver = "raw_exec"

      artifact {
        source = "https://example.com/app.tar.gz"
      }

      artifact {
        source      = "http://127.0.0.1:8080/config.json"
        destination = "local/conf/config.json"
        mode        = "file"

        options {
          checksum = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        }

        headers {
          Authorization = "Bearer token"
        }
      }
    }
  }
}

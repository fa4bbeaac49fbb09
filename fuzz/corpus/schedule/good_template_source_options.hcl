job "proxy" {
  group "proxy" {
    task "proxy" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }

      template {
        source               = "local/proxy.tpl"
        destination          = "local/proxy.conf"
        change_mode          = "noop"
        left_delimiter       = "[["
        right_delimiter      = "]]"
        error_on_missing_key = true
        uid                  = 1000
        gid                  = 1000
        splay                = "30s"
      }

      template {
        data        = "{{ range nomadService \"db\" }}server {{ .Address }}:{{ .Port }};{{ end }}"
        destination = "local/upstreams.conf"
      }
    }
  }
}

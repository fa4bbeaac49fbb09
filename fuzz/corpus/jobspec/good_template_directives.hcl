# %{ if } and %{ for } directives in strings and heredocs, with ~ whitespace stripping.
variable "upstreams" {
  default = ["10.0.0.1:80", "10.0.0.2:80"]
}

variable "tls" {
  type    = bool
  default = true
}

job "directives" {
  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          <<-EOF
            cat > "$${NOMAD_TASK_DIR}/upstreams.conf" <<CONF
            %{~ for i, u in var.upstreams }
            server backend${i} ${u};
            %{~ endfor }
            %{ if var.tls }listen 443 ssl;%{ else }listen 80;%{ endif }
            CONF
          EOF
        ]
      }

      env {
        MODE  = "%{ if var.tls }secure%{ else }plain%{ endif }"
        COUNT = "%{ for u in var.upstreams }+%{ endfor }"
      }
    }
  }
}

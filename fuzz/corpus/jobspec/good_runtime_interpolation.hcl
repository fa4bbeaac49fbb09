# Runtime interpolation stays verbatim for the client, also in strings that mix it with
# jobspec-time values; $${...} and %%{...} escape to a literal ${...} and %{...}.
variable "app" {
  default = "shop"
}

job "runtime" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args = [
          "${var.app}-${NOMAD_ALLOC_INDEX}",
          "${upper(var.app)} on ${node.unique.name} in ${node.datacenter}",
          "rack ${meta.rack} home ${env.HOME}",
          "%{ if meta.tier == "gold" }gold%{ endif }",
          "escaped $${var.app} and %%{ if x }",
        ]
      }

      env {
        APP_DIR = "${NOMAD_ALLOC_DIR}/${var.app}"
        LITERAL = "$${NOMAD_TASK_NAME}"
      }
    }
  }
}

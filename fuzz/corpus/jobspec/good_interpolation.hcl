# Runtime interpolation stays verbatim for the client to fill; heredocs keep their text.
job "interp" {
  type = "batch"

  constraint {
    attribute = "${node.class}"
    operator  = "!="
    value     = "gpu"
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          <<-EOF
            echo "alloc ${NOMAD_ALLOC_ID} index ${NOMAD_ALLOC_INDEX}"
            echo "job ${NOMAD_JOB_NAME} group ${NOMAD_GROUP_NAME} task ${NOMAD_TASK_NAME}"
            ls "${NOMAD_ALLOC_DIR}" "${NOMAD_TASK_DIR}"
          EOF
        ]
        script = <<EOF
#!/bin/sh
echo ${attr.kernel.name} ${meta.rack} ${node.unique.name}
EOF
      }

      env {
        DC      = "${node.datacenter}"
        ESCAPED = "$${NOT_INTERPOLATED}"
        QUOTED  = "say \"hi\"\tplease"
      }
    }
  }
}

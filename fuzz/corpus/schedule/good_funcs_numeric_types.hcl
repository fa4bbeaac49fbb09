# Numeric and type conversion functions, try and can.
variable "maybe" {
  default = { present = "yes" }
}

job "funcs_numeric" {
  group "g" {
    count = max(1, min(5, 3))

    task "t" {
      driver = "docker"

      config {
        image    = "busybox:1"
        abs      = abs(-4.5)
        rounding = [ceil(1.2), floor(1.8)]
        log      = log(8, 2)
        pow      = pow(2, 10)
        signum   = [signum(-3), signum(0), signum(7)]
        parseint = [parseint("ff", 16), parseint("-101", 2)]
        strings  = [tostring(1), tostring(true)]
        numbers  = tonumber("42")
        bools    = tobool("false")
        list     = tolist(["a", "b"])
        set      = toset(["a", "a", "b"])
        map      = tomap({ k = "v" })
        tried    = try(var.maybe.missing, var.maybe.present, "default")
        can      = [can(var.maybe.present), can(var.maybe.missing)]
      }

      resources {
        cpu = floor(pow(10, 2) * 2.5)
      }
    }
  }
}

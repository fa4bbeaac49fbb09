# Collection functions.
locals {
  base  = { a = 1, b = 2 }
  extra = { b = 3, c = 4 }
  list  = ["c", "a", "b", "a", ""]
}

job "funcs_collections" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image        = "busybox:1"
        concat       = concat(["x"], ["y", "z"])
        flatten      = flatten([["a"], [["b"]], []])
        keys         = keys(local.extra)
        values       = values(local.extra)
        lookup       = [lookup(local.base, "a", 0), lookup(local.base, "z", 0)]
        merged       = merge(local.base, local.extra)
        length       = [length(local.list), length(local.base), length("héllo")]
        contains     = contains(local.list, "b")
        range        = range(1, 10, 3)
        zipmap       = zipmap(["k1", "k2"], ["v1", "v2"])
        distinct     = distinct(local.list)
        element      = element(["a", "b"], 3)
        index        = index(local.list, "b")
        reverse      = reverse([1, 2, 3])
        slice        = slice(local.list, 1, 3)
        sort         = sort(compact(local.list))
        coalesce     = coalesce("", null, "first")
        coalescelist = coalescelist([], ["second"])
        chunks       = chunklist(range(5), 2)
        setunion     = setunion(["a"], ["b", "a"])
        setinter     = setintersection(["a", "b"], ["b", "c"])
        setsubtract  = setsubtract(["a", "b"], ["b"])
        setproduct   = setproduct(["x", "y"], [1, 2])
        expanded_max = max([3, 9, 4]...)
      }
    }
  }
}

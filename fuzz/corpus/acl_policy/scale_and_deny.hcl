namespace "a" { policy = "scale" }
namespace "b" { policy = "deny" }

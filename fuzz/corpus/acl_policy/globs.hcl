namespace "prod-*" { policy = "write" }
namespace "prod-web" { policy = "read" }
namespace "*web*" { capabilities = ["deny"] }

resource "kubernetes_namespace_v1" "shop" {
  metadata {
    name = "shop"
    labels = {
      team = "checkout"
    }
  }
}

resource "kubernetes_secret" "db" {
  metadata {
    name      = "db"
    namespace = "shop"
  }
  type = "Opaque"
  data = {
    username = "admin"
    password = "s3cr3t-p4ss"
  }
  binary_data = {
    cert = "aGVsbG8="
  }
}

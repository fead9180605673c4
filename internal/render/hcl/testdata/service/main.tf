resource "kubernetes_service_v1" "web" {
  metadata {
    name      = "web"
    namespace = "shop"
  }
  spec {
    selector = { app = "web" }
    type     = "ClusterIP"
    port {
      name        = "http"
      port        = 80
      target_port = 8080
    }
    port {
      name        = "admin"
      port        = 9000
      target_port = "admin"
      protocol    = "TCP"
    }
    port {
      name        = "metrics"
      port        = 9100
      target_port = "9100"
    }
  }
}

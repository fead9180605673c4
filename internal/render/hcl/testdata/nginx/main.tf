resource "kubernetes_deployment" "nginx" {
  metadata {
    name   = "nginx"
    labels = { app = "nginx" }
  }
  spec {
    replicas = 2
    selector { match_labels = { app = "nginx" } }
    template {
      metadata { labels = { app = "nginx" } }
      spec {
        container {
          image = "nginx:1.25"
          name  = "nginx"
          port { container_port = 80 }
          resources { limits = { cpu = "0.5", memory = "512Mi" } }
        }
      }
    }
  }
}

# The article's nginx app in Terraform syntax (kubernetes provider schema).
# Change replicas from 2 to 3, commit, and Tether applies it.
resource "kubernetes_deployment" "nginx" {
  metadata {
    name   = "nginx-hcl"
    labels = { app = "nginx-hcl" }
  }
  spec {
    replicas = 2
    selector { match_labels = { app = "nginx-hcl" } }
    template {
      metadata { labels = { app = "nginx-hcl" } }
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

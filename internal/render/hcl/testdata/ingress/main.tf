resource "kubernetes_ingress_v1" "web" {
  metadata {
    name = "web"
    annotations = {
      "nginx.ingress.kubernetes.io/rewrite-target" = "/"
    }
  }
  spec {
    ingress_class_name = "nginx"
    rule {
      host = "shop.example.com"
      http {
        path {
          path      = "/"
          path_type = "Prefix"
          backend {
            service {
              name = "web"
              port { number = 80 }
            }
          }
        }
        path {
          path      = "/api"
          path_type = "Prefix"
          backend {
            service {
              name = "api"
              port { name = "http" }
            }
          }
        }
      }
    }
    tls {
      hosts       = ["shop.example.com"]
      secret_name = "shop-tls"
    }
  }
}

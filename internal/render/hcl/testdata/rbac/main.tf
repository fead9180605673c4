resource "kubernetes_role" "reader" {
  metadata {
    name      = "reader"
    namespace = "shop"
  }
  rule {
    api_groups = [""]
    resources  = ["pods", "configmaps"]
    verbs      = ["get", "list", "watch"]
  }
}

resource "kubernetes_cluster_role_v1" "urls" {
  metadata {
    name = "urls"
  }
  rule {
    non_resource_urls = ["/healthz"]
    verbs             = ["get"]
  }
}

resource "kubernetes_role_binding_v1" "reader" {
  metadata {
    name      = "reader"
    namespace = "shop"
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = "reader"
  }
  subject {
    kind      = "ServiceAccount"
    name      = "worker"
    namespace = "shop"
  }
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "web" {
  metadata {
    name = "web"
  }
  spec {
    min_replicas = 2
    max_replicas = 10
    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = "web"
    }
    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = 70
        }
      }
    }
    behavior {
      scale_down {
        stabilization_window_seconds = 300
        policy {
          type           = "Pods"
          value          = 1
          period_seconds = 60
        }
      }
    }
  }
}

resource "kubernetes_persistent_volume_v1" "nfs" {
  metadata {
    name = "nfs"
  }
  spec {
    capacity     = { storage = "5Gi" }
    access_modes = ["ReadWriteMany"]
    persistent_volume_source {
      nfs {
        server = "10.0.0.5"
        path   = "/exports"
      }
    }
  }
}

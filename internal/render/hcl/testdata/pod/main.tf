# Provider syntaxes beyond the common ones: an old-style map block,
# container lifecycle hooks (not the Terraform meta-argument), affinity,
# an empty selector block, and renamed top-level arguments.
resource "kubernetes_pod_v1" "debug" {
  metadata {
    name      = "debug"
    namespace = "tools"
  }
  spec {
    affinity {
      node_affinity {
        required_during_scheduling_ignored_during_execution {
          node_selector_term {
            match_expressions {
              key      = "kubernetes.io/os"
              operator = "In"
              values   = ["linux"]
            }
          }
        }
      }
    }
    node_selector = { disk = "ssd" }
    container {
      name  = "shell"
      image = "busybox:1.36"
      resources {
        limits {
          cpu    = "250m"
          memory = "64Mi"
        }
      }
      lifecycle {
        pre_stop {
          exec {
            command = ["sleep", "5"]
          }
        }
      }
      liveness_probe {
        http_get {
          path = "/healthz"
          port = "http"
          http_header {
            name  = "X-Probe"
            value = "1"
          }
        }
      }
    }
    volume {
      name = "token"
      projected {
        sources {
          service_account_token {
            path               = "token"
            expiration_seconds = 3600
          }
        }
      }
    }
  }
  lifecycle {
    prevent_destroy = true
  }
}

resource "kubernetes_network_policy_v1" "deny" {
  metadata {
    name = "deny-all"
  }
  spec {
    pod_selector {}
    policy_types = ["Ingress"]
    ingress {
      from {
        ip_block {
          cidr   = "10.0.0.0/8"
          except = ["10.1.0.0/16"]
        }
      }
      ports {
        port     = "http"
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_storage_class_v1" "fast" {
  metadata {
    name = "fast"
  }
  storage_provisioner    = "kubernetes.io/no-provisioner"
  reclaim_policy         = "Retain"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  parameters = {
    type = "ssd"
  }
}

resource "kubernetes_pod_disruption_budget_v1" "web" {
  metadata {
    name = "web"
  }
  spec {
    max_unavailable = "25%"
    selector {
      match_labels = { app = "web" }
    }
  }
}

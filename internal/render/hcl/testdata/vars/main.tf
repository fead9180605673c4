locals {
  name        = lower(var.app)
  registry    = "registry.example.com"
  base_labels = { app = local.name }
  queues      = toset(["orders", "mail"])
}

resource "kubernetes_deployment_v1" "app" {
  metadata {
    name   = local.name
    labels = local.labels
  }
  spec {
    replicas = var.replicas
    selector {
      match_labels = local.base_labels
    }
    template {
      metadata {
        labels = local.labels
        annotations = {
          "checksum/config" = jsonencode({ ports = length(var.ports) })
        }
      }
      spec {
        container {
          name  = local.name
          image = local.image
          args  = concat(["--name", upper(local.name)], [join(",", keys(var.env))])
          dynamic "port" {
            for_each = var.ports
            content {
              name           = port.value.name
              container_port = port.value.port
            }
          }
          dynamic "env" {
            for_each = var.env
            iterator = e
            content {
              name  = e.key
              value = e.value
            }
          }
        }
      }
    }
  }
  wait_for_rollout = false
  lifecycle {
    ignore_changes = [spec[0].replicas]
  }
}

resource "kubernetes_config_map" "queue" {
  for_each = local.queues
  metadata {
    name = "queue-${each.key}"
  }
  data = {
    queue = each.value
  }
}

resource "kubernetes_service_account" "worker" {
  count = 2
  metadata {
    name = "worker-${count.index}"
  }
  image_pull_secret {
    name = "regcred"
  }
  automount_service_account_token = false
}

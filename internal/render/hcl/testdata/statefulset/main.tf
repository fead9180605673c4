resource "kubernetes_stateful_set_v1" "db" {
  metadata {
    name = "db"
  }
  spec {
    service_name = "db"
    replicas     = 1
    selector {
      match_labels = { app = "db" }
    }
    update_strategy {
      type = "RollingUpdate"
      rolling_update {
        partition = 0
      }
    }
    template {
      metadata {
        labels = { app = "db" }
      }
      spec {
        security_context {
          run_as_user  = 999
          fs_group     = 999
          run_as_non_root = true
        }
        toleration {
          key      = "dedicated"
          operator = "Equal"
          value    = "db"
          effect   = "NoSchedule"
        }
        container {
          name  = "postgres"
          image = "postgres:16"
          env {
            name = "POSTGRES_PASSWORD"
            value_from {
              secret_key_ref {
                name = "db"
                key  = "password"
              }
            }
          }
          env_from {
            config_map_ref {
              name = "db-settings"
            }
          }
          liveness_probe {
            exec {
              command = ["pg_isready"]
            }
            initial_delay_seconds = 10
          }
          readiness_probe {
            tcp_socket {
              port = 5432
            }
          }
          volume_mount {
            name       = "data"
            mount_path = "/var/lib/postgresql/data"
          }
          volume_mount {
            name       = "init"
            mount_path = "/docker-entrypoint-initdb.d"
            read_only  = true
          }
          resources {
            requests = { cpu = 0.25, memory = "256Mi" }
          }
        }
        volume {
          name = "init"
          config_map {
            name         = "db-init"
            default_mode = "0644"
            items {
              key  = "init.sql"
              path = "init.sql"
            }
          }
        }
        volume {
          name = "scratch"
          empty_dir {}
        }
      }
    }
    volume_claim_template {
      metadata {
        name = "data"
      }
      spec {
        access_modes       = ["ReadWriteOnce"]
        storage_class_name = "standard"
        resources {
          requests = {
            storage = "10Gi"
          }
        }
      }
    }
  }
}

resource "kubernetes_job_v1" "migrate" {
  metadata {
    name = "migrate"
  }
  spec {
    backoff_limit              = 4
    ttl_seconds_after_finished = 600
    template {
      metadata {}
      spec {
        restart_policy = "Never"
        container {
          name    = "migrate"
          image   = "shop/migrate:1.0"
          command = ["./migrate", "up"]
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "5m"
  }
}

resource "kubernetes_cron_job_v1" "report" {
  metadata {
    name = "report"
  }
  spec {
    schedule                      = "0 3 * * *"
    concurrency_policy            = "Forbid"
    successful_jobs_history_limit = 3
    job_template {
      metadata {}
      spec {
        template {
          metadata {}
          spec {
            restart_policy = "OnFailure"
            container {
              name  = "report"
              image = "shop/report:1.0"
              env {
                name  = "MODE"
                value = "daily"
              }
            }
          }
        }
      }
    }
  }
}

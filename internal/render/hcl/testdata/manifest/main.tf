resource "kubernetes_manifest" "monitor" {
  manifest = {
    apiVersion = "monitoring.coreos.com/v1"
    kind       = "ServiceMonitor"
    metadata = {
      name      = "web"
      namespace = "shop"
      labels    = { release = "prom" }
    }
    spec = {
      selector  = { matchLabels = { app = "web" } }
      endpoints = [{ port = "metrics", interval = "30s", scrapeTimeout = null }]
      sampleLimit = 1000
      ratio       = 0.25
    }
  }
  field_manager {
    force_conflicts = true
  }
  wait {
    rollout = true
  }
}

resource "kubernetes_config_map" "settings" {
  metadata {
    name = "settings"
  }
  data = {
    "app.properties" = <<-EOT
      color=blue
      size=3
    EOT
    LOG_LEVEL = "info"
  }
  binary_data = {
    "logo.png" = "iVBORw0KGgo="
  }
  immutable = true
}

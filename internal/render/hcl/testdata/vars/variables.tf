terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}

provider "kubernetes" {
  config_path = "~/.kube/config"
}

variable "app" {
  type    = string
  default = "Shop"
}

variable "replicas" {
  type    = number
  default = 1
}

variable "ports" {
  type = list(object({ name = string, port = number }))
  default = [
    { name = "http", port = 8080 },
    { name = "metrics", port = 9100 },
  ]
}

variable "env" {
  type    = map(string)
  default = { LOG_LEVEL = "info" }
}

locals {
  # refers to a local declared later, and in another file
  labels = merge(local.base_labels, { tier = "web" })
  image  = format("%s/%s:%s", local.registry, lower(var.app), "1.2")
}

output "name" {
  value = local.name
}

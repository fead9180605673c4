env = {
  LOG_LEVEL = "warn"
  REGION    = "eu"
}

// External variables and a library path, beside Argo CD's examples: the
// guestbook of jsonnet-guestbook-tla, called from a library, per
// environment (an ext var) with its replicas as code (an ext code var).
local guestbook = import 'guestbook.libsonnet';
local env = std.extVar('env');

guestbook.app(env, std.extVar('replicas')) + [
  {
    apiVersion: 'v1',
    kind: 'List',
    items: [{
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'guestbook-' + env, labels: { env: env } },
      data: { replicas: std.toString(std.extVar('replicas')), ratio: '0.5' },
    }],
  },
]

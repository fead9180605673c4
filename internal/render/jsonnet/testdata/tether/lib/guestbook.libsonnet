local ui = import '../../argocd-example-apps/jsonnet-guestbook-tla/guestbook-ui.jsonnet';

{
  app(env, replicas):: ui(name='guestbook-' + env, replicas=replicas),
}

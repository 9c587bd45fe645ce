// Package join mints the credentials a freshly installed machine uses to
// join the Kubernetes cluster: a bootstrap token for the kubelet's TLS
// bootstrap, and a client certificate for kube-proxy.
//
// A bootstrap token is a Secret bootstrap-token-<id> in kube-system. Each
// one rackboot mints belongs to one machine and one provisioning
// generation (labels LabelMachine and LabelGeneration), expires after
// Config.TTL, and authenticates as system:bootstrap:<id> in the groups
// system:bootstrappers and Group. The kubelet presents it once, to file a
// CSR for its client certificate; the controller manager approves that CSR
// because of the RBAC bindings EnsureRBAC makes, signs it, and deletes the
// token when it expires.
//
// Use:
//
//	cfg, err := join.ConfigFromREST(restConfig)
//	...
//	cfg.Logger = log
//	m, err := join.New(cfg)
//	...
//	creds, err := m.BootstrapToken(ctx, "node-7", provision.Generation)
//	kubeconfig, err := creds.Kubeconfig("kubelet-bootstrap")
//
// Secret material (Credentials.Token, Credentials.Key) never appears in
// rackboot's logs or errors; Credentials redacts itself when printed or
// logged. The token is kept only in its Secret in the cluster, where the
// API server needs it anyway, so a restarted rackboot hands out the same
// token for the same generation.
//
// The identity behind Config.Client needs, in the cluster:
//   - secrets in kube-system: get, list, create, delete;
//   - clusterrolebindings: get, create; and, because RBAC forbids granting
//     rights one does not hold, bind on the ClusterRoles system:node-bootstrapper
//     and system:certificates.k8s.io:certificatesigningrequests:nodeclient and
//     :selfnodeclient (or the rights those roles grant);
//   - certificatesigningrequests: create, get, watch; certificatesigningrequests/approval:
//     update; and approve on signers kubernetes.io/kube-apiserver-client (for kube-proxy).
package join

package ignition

// kubeConfig is the part of a client-go kubeconfig (apiVersion v1, kind
// Config) a worker needs: one cluster, one user, one context.
type kubeConfig struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedCluster `json:"clusters"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Users          []namedUser    `json:"users"`
}

type namedCluster struct {
	Name    string `json:"name"`
	Cluster struct {
		Server                   string `json:"server"`
		CertificateAuthorityData []byte `json:"certificate-authority-data"`
	} `json:"cluster"`
}

type namedContext struct {
	Name    string `json:"name"`
	Context struct {
		Cluster string `json:"cluster"`
		User    string `json:"user"`
	} `json:"context"`
}

type namedUser struct {
	Name string   `json:"name"`
	User kubeUser `json:"user"`
}

// kubeUser is a kubeconfig user: a bearer token or a client certificate.
type kubeUser struct {
	Token                 string `json:"token,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
}

// kubeconfig renders a kubeconfig for user at server, trusting ca (PEM).
// []byte fields encode as base64, as kubeconfig's *-data fields want.
func kubeconfig(server string, ca []byte, user string, u kubeUser) []byte {
	const cluster = "kubernetes"
	kc := kubeConfig{APIVersion: "v1", Kind: "Config", CurrentContext: user + "@" + cluster}
	kc.Clusters = []namedCluster{{Name: cluster}}
	kc.Clusters[0].Cluster.Server = server
	kc.Clusters[0].Cluster.CertificateAuthorityData = ca
	kc.Contexts = []namedContext{{Name: kc.CurrentContext}}
	kc.Contexts[0].Context.Cluster = cluster
	kc.Contexts[0].Context.User = user
	kc.Users = []namedUser{{Name: user, User: u}}
	return mustYAML(kc)
}

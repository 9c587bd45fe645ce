package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strings"
	"time"
)

// fetchSpec is one "rackboot assets fetch": what to download, where to,
// and the sums it must have.
type fetchSpec struct {
	url            string
	dest           string
	sha256, sha512 string // lower-case hex; "" = not checked
	timeout        time.Duration
	maxBytes       int64
}

func assetsFetch(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	flags := flag.NewFlagSet("assets fetch", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, assetsUsage); flags.PrintDefaults() }
	dir := flags.String("assets-dir", "/var/lib/rackboot/assets", "`directory` of assets, as rackboot serve's --assets-dir")
	var spec fetchSpec
	flags.StringVar(&spec.dest, "name", "", "`path` inside the assets directory to store the download under (required)")
	flags.StringVar(&spec.sha512, "sha512", "", "expected sha512 of the download, `hex`")
	flags.StringVar(&spec.sha256, "sha256", "", "expected sha256 of the download, `hex`")
	flags.DurationVar(&spec.timeout, "timeout", 30*time.Minute, "`duration` the whole download may take")
	flags.Int64Var(&spec.maxBytes, "max-bytes", 4<<30, "largest download accepted, in `bytes`")
	urls, err := parseImportArgs(flags, args, getenv)
	if err != nil {
		return err
	}
	if err := spec.check(urls); err != nil {
		return err
	}
	root, err := openAssetsRoot(*dir)
	if err != nil {
		return err
	}
	defer root.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sums, err := fetchFile(ctx, root, spec)
	if err != nil {
		return err
	}
	printSums(stdout, spec.dest, sums)
	return nil
}

// check validates the flags and the one URL argument, which it keeps.
func (sp *fetchSpec) check(urls []string) error {
	if len(urls) != 1 {
		return fmt.Errorf("assets fetch: want one URL, got %d", len(urls))
	}
	u, err := url.Parse(urls[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("assets fetch: %q is not an http or https URL", urls[0])
	}
	sp.url = urls[0]
	if sp.dest == "" {
		return errors.New("name: required")
	}
	if err := checkAssetName(sp.dest); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if sp.sha256 == "" && sp.sha512 == "" {
		return errors.New("assets fetch: give --sha512 or --sha256 (or both)")
	}
	if sp.sha256, err = checkHexSum("sha256", sp.sha256, 32); err != nil {
		return err
	}
	if sp.sha512, err = checkHexSum("sha512", sp.sha512, 64); err != nil {
		return err
	}
	if sp.timeout <= 0 || sp.maxBytes <= 0 {
		return errors.New("timeout and max-bytes: must be above zero")
	}
	return nil
}

// checkHexSum returns sum in lower case, or an error naming name when it
// is not size bytes of hex. An empty sum stays empty.
func checkHexSum(name, sum string, size int) (string, error) {
	if sum == "" {
		return "", nil
	}
	sum = strings.ToLower(sum)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != size {
		return "", fmt.Errorf("%s: want %d hex digits, got %q", name, 2*size, sum)
	}
	return sum, nil
}

// openAssetsRoot creates the assets directory if missing and opens it.
func openAssetsRoot(dir string) (*os.Root, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("assets-dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("assets-dir: %w", err)
	}
	return root, nil
}

// fetchFile downloads spec.url into a temporary file beside spec.dest
// inside root, checks its sums and only then renames it into place. On
// any failure the temporary file is removed and spec.dest is untouched.
func fetchFile(ctx context.Context, root *os.Root, spec fetchSpec) (assetSums, error) {
	ctx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	dir := path.Dir(spec.dest)
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return assetSums{}, fmt.Errorf("fetching %s: %w", spec.url, err)
	}
	tmp := path.Join(dir, "."+path.Base(spec.dest)+".fetch-"+rand.Text()[:8])
	sums, err := download(ctx, root, tmp, spec)
	if err == nil {
		err = spec.verify(sums)
	}
	if err == nil {
		err = root.Rename(tmp, spec.dest)
	}
	if err != nil {
		root.Remove(tmp)
		return assetSums{}, fmt.Errorf("fetching %s as %s: %w", spec.url, spec.dest, err)
	}
	return sums, syncDir(root, dir)
}

// download writes the body of a GET of spec.url to the new file tmp in
// root, refusing a status other than 200 and a body over spec.maxBytes.
func download(ctx context.Context, root *os.Root, tmp string, spec fetchSpec) (assetSums, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.url, nil)
	if err != nil {
		return assetSums{}, err
	}
	resp, err := fetchClient.Do(req)
	if err != nil {
		return assetSums{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return assetSums{}, fmt.Errorf("server answered %s", resp.Status)
	}
	if resp.ContentLength > spec.maxBytes {
		return assetSums{}, fmt.Errorf("body is %d bytes, larger than --max-bytes %d",
			resp.ContentLength, spec.maxBytes)
	}
	sums, err := writeSummed(root, tmp, io.LimitReader(resp.Body, spec.maxBytes+1))
	if err == nil && sums.bytes > spec.maxBytes {
		err = fmt.Errorf("body is larger than --max-bytes %d", spec.maxBytes)
	}
	return sums, err
}

// verify compares sums with the ones the spec expects.
func (sp fetchSpec) verify(sums assetSums) error {
	if sp.sha512 != "" && sums.sha512 != sp.sha512 {
		return fmt.Errorf("sha512 mismatch: got %s, want %s", sums.sha512, sp.sha512)
	}
	if sp.sha256 != "" && sums.sha256 != sp.sha256 {
		return fmt.Errorf("sha256 mismatch: got %s, want %s", sums.sha256, sp.sha256)
	}
	return nil
}

// fetchClient bounds the steps before the body; --timeout bounds the
// whole download. It honours the proxy variables.
var fetchClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: time.Minute,
	ForceAttemptHTTP2:     true,
}}

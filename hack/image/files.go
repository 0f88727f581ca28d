package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The user the image runs as. 65532 is distroless's "nonroot", so clusters whose policies
// already allow that uid accept this image as well.
const (
	nonrootUID  = 65532
	nonrootHome = "home/nonroot"
	// binaryPath is where the flotilla binary goes, and the image's entrypoint.
	binaryPath = "usr/local/bin/flotilla"
	// caBundlePath is where the CA bundle goes: Debian's path, which Go's crypto/x509 also
	// looks at on Linux without SSL_CERT_FILE.
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// DefaultCABundle is the host's CA bundle on Debian and Ubuntu (package ca-certificates).
const DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"

// passwd and group name root, nonroot and nobody, as distroless does: tools that look the
// running uid up (and Go's os/user) find a name and a home, and nothing can log in.
const (
	passwd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`
	group = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`
)

// baseFiles is what an empty base needs for flotilla to run: the user files, the nonroot
// home, /tmp, and, when caBundle is not nil, the CA bundle that TLS to members and to Azure
// verifies against.
func baseFiles(caBundle []byte) []file {
	files := []file{
		{Path: "etc", Dir: true, Mode: 0o755},
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Path: "etc/group", Mode: 0o644, Data: []byte(group)},
	}
	if caBundle != nil {
		files = append(files,
			file{Path: "etc/ssl", Dir: true, Mode: 0o755},
			file{Path: "etc/ssl/certs", Dir: true, Mode: 0o755},
			file{Path: caBundlePath, Mode: 0o644, Data: caBundle},
		)
	}
	return append(files,
		file{Path: "home", Dir: true, Mode: 0o755},
		file{Path: nonrootHome, Dir: true, Mode: 0o700, UID: nonrootUID, GID: nonrootUID},
		// Sticky and world-writable as on any Linux; with readOnlyRootFilesystem the pod
		// mounts an emptyDir here if something needs it.
		file{Path: "tmp", Dir: true, Mode: 0o1777},
	)
}

// binaryFiles puts the flotilla binary at /usr/local/bin/flotilla, owned by root so that
// the nonroot user cannot replace it.
func binaryFiles(binary []byte) []file {
	return []file{
		{Path: "usr", Dir: true, Mode: 0o755},
		{Path: "usr/local", Dir: true, Mode: 0o755},
		{Path: "usr/local/bin", Dir: true, Mode: 0o755},
		{Path: binaryPath, Mode: 0o755, Data: binary},
	}
}

// readCABundle reads the CA bundle at path; "" means build without one, on purpose. A
// missing bundle fails the build rather than giving an image whose every TLS call fails.
func readCABundle(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no CA bundle at %s: install it with `apt-get install ca-certificates` "+
			"(or point --ca-bundle at another PEM bundle, or pass --ca-bundle '' to build an image "+
			"without system roots, in which TLS to members and Azure fails)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", path)
	}
	return data, nil
}

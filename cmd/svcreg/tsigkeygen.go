package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"
)

// runTSIGKeygen implements "svcreg tsig-keygen [-a ALG] [--json] NAME":
// a new TSIG key (RFC 8945), printed in svcreg's config form (for
// dns.tsig_keys) and in BIND's and Knot's, so both ends of a transfer
// get the same secret.
func runTSIGKeygen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg tsig-keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := "hmac-sha256"
	fs.Func("algorithm", "`ALG`: hmac-sha256 (default), hmac-sha384 or hmac-sha512", func(s string) error {
		switch s {
		case "hmac-sha256", "hmac-sha384", "hmac-sha512":
			alg = s
			return nil
		}
		return fmt.Errorf("want hmac-sha256, hmac-sha384 or hmac-sha512, not %q", s)
	})
	asJSON := fs.Bool("json", false, "print the key as one JSON object {name, algorithm, secret}")
	quiet := quietFlag(fs, "print only the secret")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg tsig-keygen [--algorithm ALG] [--json] [-q] NAME")
		fmt.Fprintln(fs.Output(), "\nPrints a new TSIG key for dns.tsig_keys, and the same key for BIND and Knot.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "svcreg tsig-keygen: one key NAME expected (e.g. transfer.services.internal)")
		return exitUsage
	}
	name := strings.ToLower(dns.Fqdn(pos[0]))
	if _, ok := dns.IsDomainName(name); !ok || name == "." {
		fmt.Fprintf(stderr, "svcreg tsig-keygen: %q is not a key name (a domain name)\n", pos[0])
		return exitUsage
	}
	// As BIND's tsig-keygen: as many random bytes as the hash is long.
	size := map[string]int{"hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64}[alg]
	raw := make([]byte, size)
	if _, err := rand.Read(raw); err != nil {
		fmt.Fprintf(stderr, "svcreg tsig-keygen: %v\n", err)
		return exitUsage
	}
	secret := base64.StdEncoding.EncodeToString(raw)
	switch {
	case *quiet:
		_, err = fmt.Fprintln(stdout, secret)
	case *asJSON:
		err = json.NewEncoder(stdout).Encode(map[string]string{"name": name, "algorithm": alg, "secret": secret})
	default:
		_, err = fmt.Fprintf(stdout, `# svcreg config (dns.tsig_keys; or put the secret in a file and use secret_file):
dns:
  tsig_keys:
    - {name: %[1]s, algorithm: %[2]s, secret: %[3]s}

# BIND (named.conf):
key "%[1]s" {
	algorithm %[2]s;
	secret "%[3]s";
};

# Knot DNS (knot.conf):
key:
  - id: %[1]s
    algorithm: %[2]s
    secret: %[3]s
`, name, alg, secret)
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg tsig-keygen: writing output: %v\n", err)
		return exitUsage
	}
	return exitOK
}

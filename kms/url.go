package kms

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Schemes supported by Open. Anything else, base64key:// (local keys) in
// particular, is refused: local master keys are handled by the keyring itself.
const (
	SchemeHashiVault = "hashivault"
	SchemeAWSKMS     = "awskms"
	SchemeGCPKMS     = "gcpkms"
)

// IDPrefix starts every Keeper.ID.
const IDPrefix = "kms:"

// schemeRules says, for one scheme, which query parameters Open accepts and
// which of them name the key (and so belong in the ID). Parameters that only
// choose how to reach the service (endpoint, profile, ...) are left out of
// the ID, so that moving the client does not make stored keys look foreign.
type schemeRules struct {
	// params are the accepted query parameters.
	params []string
	// paramPrefixes are accepted prefixes of query parameter names.
	paramPrefixes []string
	// identity are the accepted parameters (or prefixes ending in "_") kept
	// in the ID.
	identity []string
}

var rules = map[string]schemeRules{
	// gocloud.dev/secrets/hashivault: engine is the mount of the transit
	// secrets engine.
	SchemeHashiVault: {
		params:   []string{"engine"},
		identity: []string{"engine"},
	},
	// gocloud.dev/secrets/awskms and gocloud.dev/aws.V2ConfigFromURLParams.
	// context_NAME=VALUE pairs form the KMS encryption context, which must
	// match to decrypt, so they are part of the identity.
	SchemeAWSKMS: {
		params: []string{
			"region", "endpoint", "profile", "hostname_immutable", "dualstack",
			"fips", "rate_limiter_capacity", "role", "awssdk",
			"request_checksum_calculation", "response_checksum_validation",
		},
		paramPrefixes: []string{"context_"},
		identity:      []string{"region", "context_"},
	},
	// gocloud.dev/secrets/gcpkms: additional authenticated data must match
	// to decrypt.
	SchemeGCPKMS: {
		params:   []string{"additional_authenticated_data"},
		identity: []string{"additional_authenticated_data"},
	},
}

// ErrUnsupportedScheme is wrapped by Open and KeyID for a URL whose scheme is
// not one of the three supported ones.
var ErrUnsupportedScheme = errors.New("unsupported KMS URL scheme")

// KeyID checks url as Open does and returns the ID that a Keeper opened from
// it would have, without contacting anything. Configuration checks and
// rotate-master can use it to tell which stored keys the configured KEK
// wrapped.
func KeyID(url string) (string, error) {
	t, err := parseURL(url)
	if err != nil {
		return "", fmt.Errorf("checking KMS URL: %w", err)
	}
	return t.id, nil
}

// target is a validated KMS URL.
type target struct {
	url *url.URL // as given, validated; holds no credentials
	key string   // the key name, ARN or resource ID: host + path
	id  string   // Keeper.ID
}

// parseURL validates raw and computes its ID. Its errors never quote raw, its
// user information or query values: they may hold secrets that do not belong
// in a URL.
func parseURL(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// net/url's errors quote the URL or the offending part of it (a
		// "port" that is really a token, say): name no part of it.
		return nil, errors.New("parsing KMS URL: malformed URL (check the escapes and the part after ://)")
	}
	scheme := strings.ToLower(u.Scheme)
	r, ok := rules[scheme]
	if !ok {
		if scheme == "" {
			return nil, fmt.Errorf("KMS URL has no scheme: %w (want %s)", ErrUnsupportedScheme, supported())
		}
		return nil, fmt.Errorf("KMS URL scheme %q: %w (want %s)", scheme, ErrUnsupportedScheme, supported())
	}
	u.Scheme = scheme
	if u.Opaque != "" {
		return nil, fmt.Errorf("%s URL: want %s://KEY", scheme, scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s URL: credentials do not belong in the URL; use the service's own credential settings (see docs/kms.md)", scheme)
	}
	if u.Fragment != "" || u.RawFragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%s URL: a fragment is not allowed", scheme)
	}
	key := strings.TrimPrefix(strings.TrimSuffix(u.Host+u.Path, "/"), "/")
	if key == "" {
		return nil, fmt.Errorf("%s URL: no key name (want %s://KEY)", scheme, scheme)
	}
	if err := checkKey(scheme, key); err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s URL: malformed query", scheme)
	}
	for name, values := range q {
		if !r.accepts(name) {
			return nil, fmt.Errorf("%s URL: unsupported query parameter %q (supported: %s)", scheme, name, r.describe())
		}
		if len(values) != 1 {
			return nil, fmt.Errorf("%s URL: query parameter %q given %d times", scheme, name, len(values))
		}
	}
	if engine, ok := q["engine"]; ok && scheme == SchemeHashiVault {
		if !validPath(engine[0]) {
			return nil, fmt.Errorf("%s URL: engine must be a mount path of letters, digits, '.', '_' and '-' segments", scheme)
		}
	}

	// A trailing slash does not change the key the drivers use; leave it out
	// so that both spellings have one ID.
	id := url.URL{Scheme: scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
	kept := url.Values{}
	for name, values := range q {
		if r.identifies(name) {
			kept[name] = values
		}
	}
	id.RawQuery = kept.Encode() // sorted by name
	return &target{url: u, key: key, id: IDPrefix + id.String()}, nil
}

// checkKey checks the key part of a URL of scheme. The drivers join it to an
// API path, so "." and ".." segments, which would leave that path, are refused
// everywhere.
func checkKey(scheme, key string) error {
	switch scheme {
	case SchemeHashiVault:
		if strings.Contains(key, "/") || !validPath(key) {
			return fmt.Errorf("%s URL: the key name must be one segment of letters, digits, '.', '_' and '-' (want %s://KEY)", scheme, scheme)
		}
	case SchemeGCPKMS:
		parts := strings.Split(key, "/")
		if len(parts) != 8 || parts[0] != "projects" || parts[2] != "locations" ||
			parts[4] != "keyRings" || parts[6] != "cryptoKeys" || !validPath(key) {
			return fmt.Errorf("%s URL: want %s://projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY", scheme, scheme)
		}
	default:
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return fmt.Errorf("%s URL: empty, \".\" or \"..\" path segment in the key", scheme)
			}
		}
	}
	return nil
}

// validPath reports whether p is one or more "/"-separated segments of ASCII
// letters, digits, '.', '_' and '-', none of them empty, "." or "..".
func validPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == '-'
			if !ok {
				return false
			}
		}
	}
	return true
}

func (r schemeRules) accepts(name string) bool {
	if slices.Contains(r.params, name) {
		return true
	}
	for _, p := range r.paramPrefixes {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

func (r schemeRules) identifies(name string) bool {
	for _, p := range r.identity {
		if name == p || (strings.HasSuffix(p, "_") && strings.HasPrefix(name, p)) {
			return true
		}
	}
	return false
}

func (r schemeRules) describe() string {
	names := slices.Clone(r.params)
	for _, p := range r.paramPrefixes {
		names = append(names, p+"NAME")
	}
	return strings.Join(names, ", ")
}

func supported() string {
	return SchemeHashiVault + "://, " + SchemeAWSKMS + "://, " + SchemeGCPKMS + "://"
}

#!/usr/bin/env bash
# Builds a HashiCorp Vault server from the Go module proxy, for the kms
# package's Transit tests (kms/vault_test.go; see docs/kms.md). There is no
# Debian package and no other download: the pinned release's source comes from
# the module proxy and is compiled here.
#
# Idempotent: does nothing when the pinned version is already installed.
# Installs into $(go env GOPATH)/bin, or the folder given as the first
# argument (the project-local bin/ is ignored by git, and the kms tests look
# there too). Prints where.
#
# Why not `go install github.com/hashicorp/vault@VERSION`: Vault's go.mod
# replaces its api and sdk modules with ./api and ./sdk, and a module zip
# leaves nested modules out, so `go install` refuses and a plain build cannot
# find them. This script builds a copy whose go.mod drops those replacements,
# taking api and sdk at the versions Vault's go.mod requires. VAULT_VERSION
# must be a release whose in-tree sdk matches the tagged sdk it requires:
# v1.21.0 does (sdk v0.20.0); v1.21.4 and v1.20.0 do not compile that way.
# OpenBao (preferred, MPL-2.0) cannot be built here at all: the module proxy
# refuses every version of github.com/openbao/openbao.
#
# Vault v1.15 and later are under the Business Source License 1.1; running it
# as a throwaway test server on 127.0.0.1 is within its terms. It is never
# shipped with Strongroom.
set -euo pipefail

VAULT_MODULE=github.com/hashicorp/vault
VAULT_VERSION=v1.21.0

install_dir="${1:-}"
if [ -z "$install_dir" ]; then
	gopath="$(go env GOPATH)"
	install_dir="${gopath%%:*}/bin"
fi
mkdir -p "$install_dir"
install_dir="$(cd "$install_dir" && pwd)"
dest="$install_dir/vault"

if [ -x "$dest" ] && "$dest" version 2>/dev/null | grep -q "^Vault ${VAULT_VERSION}[ ,]"; then
	echo "install-vault: Vault ${VAULT_VERSION} already installed at $dest"
	echo "install-vault: the kms tests find it there; or set STRONGROOM_VAULT_BIN=$dest"
	exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/install-vault.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

start=$SECONDS
echo "install-vault: fetching $VAULT_MODULE@$VAULT_VERSION from the module proxy"
# Outside any module, so that no go.mod is touched; GOFLAGS=-mod=... would be
# refused there.
src="$(cd "$work" && GOFLAGS='' go mod download -json "$VAULT_MODULE@$VAULT_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
	echo "install-vault: go mod download gave no source folder for $VAULT_MODULE@$VAULT_VERSION" >&2
	exit 1
fi

cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
# The web UI, docs and test scenarios are not needed for a dev server.
rm -rf "$work/src/ui" "$work/src/website" "$work/src/enos"
(
	cd "$work/src"
	go mod edit \
		-dropreplace=github.com/hashicorp/vault/api \
		-dropreplace=github.com/hashicorp/vault/api/auth/approle \
		-dropreplace=github.com/hashicorp/vault/api/auth/kubernetes \
		-dropreplace=github.com/hashicorp/vault/api/auth/userpass \
		-dropreplace=github.com/hashicorp/vault/sdk
	echo "install-vault: building (about 5 minutes with a warm build cache, 10 or more without)"
	# -mod=mod adds the go.sum lines of the api and sdk modules, checked
	# against the checksum database like any download.
	GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0 \
		go build -trimpath -ldflags="-s -w" -o "$work/vault" .
)

"$work/vault" version | grep -q "^Vault ${VAULT_VERSION}[ ,]" || {
	echo "install-vault: the built binary does not report ${VAULT_VERSION}:" >&2
	"$work/vault" version >&2
	exit 1
}
# Copy beside the destination, then rename: a half-written binary is never
# run.
cp "$work/vault" "$dest.tmp.$$"
chmod 0755 "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "install-vault: installed Vault ${VAULT_VERSION} at $dest ($((SECONDS - start))s)"
echo "install-vault: the kms tests find it there; or set STRONGROOM_VAULT_BIN=$dest"

#!/usr/bin/env bash
# Installs Debian's testssl.sh, the TLS scanner docs/tls.md was checked with
# (run it with: STRONGROOM_TESTSSL=1 go test -run TestTestSSL -v ./certs/).
# Idempotent: does nothing when testssl.sh (or Debian's "testssl" name) is
# already on PATH.
set -euo pipefail

for name in testssl testssl.sh; do
	if command -v "$name" >/dev/null 2>&1; then
		echo "install-testssl: $name already installed ($(command -v "$name"))"
		exit 0
	fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "install-testssl: not root and sudo is missing; install the testssl.sh package by hand" >&2
		exit 1
	fi
fi

echo "install-testssl: installing testssl.sh with apt-get"
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y testssl.sh

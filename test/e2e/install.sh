#!/usr/bin/env bash
# Installs what the end-to-end tests run in (code-server, chromium, vsce) on a fresh Debian 12 machine, following
# shared/docs/testing-in-vscode.md step by step; each step works around a failure seen without it.
set -euo pipefail
cd "$(dirname "$0")/host"

# Chromium drives the workbench; libkrb5-dev has the gssapi.h that code-server's kerberos addon compiles against;
# ripgrep feeds the cache below.
if ! command -v chromium >/dev/null || ! command -v rg >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev ripgrep
fi

# @vscode/ripgrep's postinstall downloads ripgrep from GitHub unless it finds this tarball in its cache.
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
tar czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg

# As root, code-server's postinstall needs unsafe-perm; node-pty's build runs `npx node-gyp`, which must not prompt.
# Skipped when the lockfile has not changed since the last install (code-server's postinstall takes about a minute).
stamp=node_modules/.installed-lock.sha256
if [ -f "$stamp" ] && sha256sum --quiet -c "$stamp" 2>/dev/null; then
  echo "e2e host: up to date"
  exit 0
fi
npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund
sha256sum package-lock.json >"$stamp"

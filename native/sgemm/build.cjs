'use strict';
// `npm install` runs this: builds the addon with the node-gyp npm ships, against the running
// Node's own headers when they are installed beside it (Debian/NodeSource /usr/include/node, the
// official tarballs' include/node), so the build needs no network. Exit status is node-gyp's; a
// failed build leaves no addon, and lora-study then runs on plain wasm (`lora-study doctor` says why).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const args = ['rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.error) console.error(`lora-study-native: could not run node-gyp: ${r.error.message}`);
process.exit(r.status ?? 1);

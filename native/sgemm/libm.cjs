'use strict';
// Loads the native Exp/Log kernels (src/libm_exact.cc, target exact_libm: gyp drops a "lib" prefix: glibc's non-FMA expf/logf from the static
// libm); throws (with the path it tried) when `npm install` could not build them. A build without
// the kernels (no suitable libm archive: see libm-probe.cjs) loads with available = false and
// `reason` = what the build-time probe found.
const fs = require('node:fs');
const path = require('node:path');
const addon = require(path.join(__dirname, 'build', 'Release', 'exact_libm.node'));
if (!addon.available) {
  let reason = 'built without them (the build-time libm probe left no reason: run `npm rebuild lora-study-native`)';
  try {
    reason = JSON.parse(fs.readFileSync(path.join(__dirname, 'build', 'libm-probe.json'), 'utf8')).reason || reason;
  } catch {
    // keep the generic reason
  }
  addon.reason = reason;
}
module.exports = addon;

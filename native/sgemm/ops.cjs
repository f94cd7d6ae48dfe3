'use strict';
// Loads the compiled native elementwise/reduction/copy kernels (src/ops.cc); throws (with the path
// it tried) when `npm install` could not build them.
const path = require('node:path');
module.exports = require(path.join(__dirname, 'build', 'Release', 'ops.node'));

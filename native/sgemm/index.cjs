'use strict';
// Loads the compiled addon; throws (with the path it tried) when `npm install` could not build it.
const path = require('node:path');
module.exports = require(path.join(__dirname, 'build', 'Release', 'sgemm.node'));

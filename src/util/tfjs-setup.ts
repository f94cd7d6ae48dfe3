/**
 * Registers every gradient and the chained tensor methods (`x.reshape(...)`) into the one
 * @tensorflow/tfjs-core instance the project uses. tfjs-core's Node entry registers neither, and
 * its per-file ESM modules cannot be imported by Node directly (extensionless and directory
 * imports), so the union package, whose Node bundle registers both, is loaded for its side effects.
 */
import '@tensorflow/tfjs';
import { installBufferBytes } from '../engine/buffer-bytes.js';

installBufferBytes();

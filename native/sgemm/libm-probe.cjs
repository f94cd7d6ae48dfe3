'use strict';
// Build-time probe for the exact_libm target (binding.gyp runs it while configuring): finds a
// static C math library archive that defines glibc's non-FMA x86-64 single-precision variants
// `__expf_sse2` and `__logf_sse2` (glibc's libm.a / libm-<version>.a, from libc6-dev), by test
// links, not by name: a small shared object calling both is linked against each candidate the way
// binding.gyp links the addon (`-Wl,--exclude-libs,ALL`, a hidden `_dl_x86_cpu_features`), then a
// small program loads it with dlopen and checks a few results.
//
// Prints the archive's path for gyp, or nothing when none works; writes what it found and why to
// build/libm-probe.json (libm.cjs reads it: `lora-study doctor` shows the reason). It never fails:
// any problem means "no archive", and the addon is then built without those kernels.
//   LORA_STUDY_LIBM_ARCHIVE=none   build without them;  =/path/libm.a   try only that archive.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SHARED_SOURCE = `
__attribute__((visibility("hidden"))) char _dl_x86_cpu_features[4096];
float __expf_sse2(float);
float __logf_sse2(float);
float lora_probe_exp(float x) { return __expf_sse2(x); }
float lora_probe_log(float x) { return __logf_sse2(x); }
`;

// Loads the shared object as node will (dlopen, symbols resolved now) and prints result bits.
const MAIN_SOURCE = `
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { printf("dlopen: %s\\n", dlerror()); return 1; }
  float (*e)(float) = (float (*)(float))dlsym(h, "lora_probe_exp");
  float (*l)(float) = (float (*)(float))dlsym(h, "lora_probe_log");
  if (!e || !l) { printf("dlsym failed\\n"); return 1; }
  float r[4] = {e(0.0f), e(1.0f), l(1.0f), l(2.0f)};
  unsigned u[4];
  memcpy(u, r, sizeof u);
  printf("%08x %08x %08x %08x\\n", u[0], u[1], u[2], u[3]);
  return 0;
}
`;
// expf(0) = 1, expf(1) = 2.71828175, logf(1) = 0, logf(2) = 0.693147182 (correctly rounded).
const EXPECTED = '3f800000 402df854 00000000 3f317218';

const outDir = path.join(__dirname, 'build');
// The C compiler: $CC, else cc, else gcc (a toolchain may lack the cc alias).
const cc = process.env.CC || (spawnSync('cc', ['--version']).error ? 'gcc' : 'cc');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  const text = `${r.stdout || ''}${r.stderr || ''}`.trim();
  return { ok: !r.error && r.status === 0, text: r.error ? r.error.message : text };
}

/** Candidate archives: the real glibc archives (libm-<version>.a) before libm.a (a linker script on Debian). */
function candidates() {
  const dirs = new Set();
  const printed = run(cc, ['-print-file-name=libm.a']);
  if (printed.ok && path.isAbsolute(printed.text)) dirs.add(path.dirname(printed.text));
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu']) dirs.add(d);
  const found = [];
  for (const dir of dirs) {
    let names = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const versioned = names.filter((n) => /^libm-[0-9.]+\.a$/.test(n)).sort().reverse();
    for (const n of [...versioned, ...(names.includes('libm.a') ? ['libm.a'] : [])]) {
      const p = fs.realpathSync(path.join(dir, n));
      if (!found.includes(p)) found.push(p);
    }
  }
  return found;
}

/** Links and loads the probe against `archive`: null when it works, else why not. */
function tryArchive(archive, tmp) {
  const so = path.join(tmp, 'probe.so');
  const link = run(cc, ['-shared', '-fPIC', '-O1', '-o', so, path.join(tmp, 'probe.c'), archive, '-Wl,--exclude-libs,ALL', '-Wl,-z,defs']);
  if (!link.ok) return `the test link failed: ${link.text.split('\n').find((l) => /undefined|cannot|error/i.test(l)) ?? link.text.split('\n')[0]}`;
  const readelf = run('readelf', ['-rW', so]);
  if (readelf.ok && /IRELATIV/.test(readelf.text)) return 'the test link has IRELATIVE relocations (an ifunc would be resolved against the dummy CPU features)';
  const exe = path.join(tmp, 'probe-main');
  const main = run(cc, ['-O1', '-o', exe, path.join(tmp, 'main.c'), '-ldl']);
  if (!main.ok) return `the loader test did not build: ${main.text.split('\n')[0]}`;
  const out = run(exe, [so]);
  if (!out.ok) return `the test object did not load: ${out.text.split('\n')[0]}`;
  if (out.text !== EXPECTED) return `wrong results from the test object (${out.text}, expected ${EXPECTED})`;
  return null;
}

function probe() {
  const wanted = process.env.LORA_STUDY_LIBM_ARCHIVE;
  if (wanted === 'none') return { ok: false, reason: 'LORA_STUDY_LIBM_ARCHIVE=none at build time' };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `glibc's x86-64 libm variants exist only on x86-64 Linux (this is ${process.platform}/${process.arch})` };
  }
  const list = wanted ? [wanted] : candidates();
  if (list.length === 0) return { ok: false, reason: 'no static libm archive (libm.a) found: on Debian/Ubuntu it comes with libc6-dev' };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-libm-probe-'));
  try {
    fs.writeFileSync(path.join(tmp, 'probe.c'), SHARED_SOURCE);
    fs.writeFileSync(path.join(tmp, 'main.c'), MAIN_SOURCE);
    const tried = [];
    for (const archive of list) {
      const why = tryArchive(archive, tmp);
      if (why === null) return { ok: true, archive, reason: `${archive} defines __expf_sse2 and __logf_sse2 (test link and load passed)` };
      tried.push(`${archive}: ${why}`);
    }
    return { ok: false, reason: `no static libm archive defines glibc's __expf_sse2/__logf_sse2 (${tried.join('; ')})` };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

let result;
try {
  result = probe();
} catch (err) {
  result = { ok: false, reason: `the probe failed: ${err && err.message}` };
}
try {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'libm-probe.json');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...result, cc }, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
} catch {
  // The result still reaches gyp; the loader then reports the addon's own state.
}
process.stdout.write(result.ok ? result.archive : '');

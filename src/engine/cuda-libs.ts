import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Shared libraries tfjs-node-gpu 4.x needs at run time. Its libtensorflow 2.9 was built for
 * CUDA 11.2 and cuDNN 8.1 and dlopens these exact sonames; any CUDA 11.x / cuDNN 8.x provides
 * them. If one is missing TensorFlow logs "Cannot dlopen some GPU libraries" and silently runs on
 * the CPU. CUDA 12+ and cuDNN 9 use other sonames (libcudart.so.12 or .13, libcudnn.so.9) and do not help.
 */
export const TFJS_NODE_GPU_LIBS = [
  { soname: 'libcudart.so.11.0', component: 'CUDA 11 runtime', pip: 'nvidia-cuda-runtime-cu11' },
  { soname: 'libcublas.so.11', component: 'cuBLAS 11', pip: 'nvidia-cublas-cu11' },
  { soname: 'libcublasLt.so.11', component: 'cuBLASLt 11', pip: 'nvidia-cublas-cu11' },
  { soname: 'libcufft.so.10', component: 'cuFFT (CUDA 11)', pip: 'nvidia-cufft-cu11' },
  { soname: 'libcurand.so.10', component: 'cuRAND (CUDA 11)', pip: 'nvidia-curand-cu11' },
  { soname: 'libcusolver.so.11', component: 'cuSOLVER 11', pip: 'nvidia-cusolver-cu11' },
  { soname: 'libcusparse.so.11', component: 'cuSPARSE 11', pip: 'nvidia-cusparse-cu11' },
  { soname: 'libcudnn.so.8', component: 'cuDNN 8', pip: 'nvidia-cudnn-cu11<9' },
] as const;

/** Newer majors whose presence explains "I have CUDA, why does it not work?". */
const OTHER_MAJOR_SONAMES = ['libcudart.so.12', 'libcudart.so.13', 'libcudnn.so.9'];

export interface CudaLibStatus {
  soname: string;
  component: string;
  /** dlopen will find it: it is in the ldconfig cache or in an LD_LIBRARY_PATH folder. */
  loadable: boolean;
  /** Every copy seen, in the ldconfig cache or any searched folder. */
  foundAt: string[];
  /** What to do; null when loadable. */
  fix: string | null;
}

export interface CudaLibReport {
  libs: CudaLibStatus[];
  allLoadable: boolean;
  /** Copies of newer, incompatible CUDA/cuDNN majors, e.g. `/usr/local/cuda-12.4/lib64/libcudart.so.12`. */
  otherMajors: string[];
  /** Folders searched besides the ldconfig cache. */
  searched: string[];
  /** Whether `ldconfig -p` could be read. */
  ldconfigRead: boolean;
}

export interface CudaSearchOptions {
  /** `ldconfig -p` output, or null when unavailable. Default: run it. */
  ldconfigOutput?: string | null;
  /** Default: process.env.LD_LIBRARY_PATH. */
  ldLibraryPath?: string;
  /** Folders to look in besides LD_LIBRARY_PATH. Default: {@link defaultCudaDirs}. */
  searchDirs?: string[];
}

export function readLdconfig(): string | null {
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(bin, ['-p'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // try the next location: ldconfig is often outside a normal user's PATH
    }
  }
  return null;
}

/** Parses `\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.11.0` lines. */
export function parseLdconfig(output: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const list = map.get(m[1]) ?? [];
    list.push(m[2]);
    map.set(m[1], list);
  }
  return map;
}

function subdirs(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && e.name.startsWith(prefix))
      .map((e) => path.join(dir, e.name))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Where CUDA libraries usually live: toolkit folders (/usr/local/cuda*), distribution packages,
 * and NVIDIA's pip wheels (site-packages/nvidia/<lib>/lib), the no-root way to get CUDA 11.
 */
export function defaultCudaDirs(): string[] {
  const dirs: string[] = [];
  for (const cuda of subdirs('/usr/local', 'cuda')) {
    dirs.push(path.join(cuda, 'lib64'), path.join(cuda, 'targets', 'x86_64-linux', 'lib'));
  }
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib/wsl/lib');
  for (const base of ['/usr/lib', '/usr/local/lib', path.join(os.homedir(), '.local', 'lib')]) {
    for (const py of subdirs(base, 'python3')) {
      for (const pkgs of ['site-packages', 'dist-packages']) {
        for (const lib of subdirs(path.join(py, pkgs, 'nvidia'), '')) dirs.push(path.join(lib, 'lib'));
      }
    }
  }
  return dirs;
}

/** Drops paths that are the same file through a symlink (/usr/local/cuda -> cuda-12.4), keeping the first seen. */
function uniqueFiles(paths: string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    let real = p;
    try {
      real = realpathSync(p);
    } catch {
      // a dangling ldconfig entry: keep it under its own name
    }
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

function splitPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter((d) => d !== '');
}

function fixFor(lib: (typeof TFJS_NODE_GPU_LIBS)[number], foundAt: string[]): string {
  if (foundAt.length > 0) {
    const dir = path.dirname(foundAt[0]);
    return `${lib.soname} exists at ${foundAt[0]} but the loader does not search there: export LD_LIBRARY_PATH=${dir}:$LD_LIBRARY_PATH (or add ${dir} to /etc/ld.so.conf.d/ and run \`sudo ldconfig\`)`;
  }
  const cudnn = lib.soname.startsWith('libcudnn');
  const system = cudnn
    ? 'install cuDNN 8.x for CUDA 11 (e.g. `sudo apt-get install libcudnn8` from NVIDIA\'s CUDA repository)'
    : 'install a CUDA 11.x toolkit beside any newer CUDA (e.g. `sudo apt-get install cuda-toolkit-11-8` from NVIDIA\'s repository; it goes to /usr/local/cuda-11.8) and export LD_LIBRARY_PATH=/usr/local/cuda-11.8/lib64:$LD_LIBRARY_PATH';
  return (
    `${lib.soname} (${lib.component}) is missing: ${system}; without root: \`pip install '${lib.pip}'\` ` +
    'and add its site-packages/nvidia/*/lib folder to LD_LIBRARY_PATH'
  );
}

/** Checks each library tfjs-node-gpu needs; all inputs are injectable for tests. */
export function findCudaLibraries(opts: CudaSearchOptions = {}): CudaLibReport {
  const ldconfigOutput = opts.ldconfigOutput === undefined ? readLdconfig() : opts.ldconfigOutput;
  const cache = ldconfigOutput === null ? new Map<string, string[]>() : parseLdconfig(ldconfigOutput);
  const ldPath = splitPath(opts.ldLibraryPath ?? process.env.LD_LIBRARY_PATH);
  const others = opts.searchDirs ?? defaultCudaDirs();
  const searched = [...new Set([...ldPath, ...others])];

  const filesNamed = (soname: string, dirs: string[]) =>
    dirs.map((d) => path.join(d, soname)).filter((f) => existsSync(f));

  const libs: CudaLibStatus[] = TFJS_NODE_GPU_LIBS.map((lib) => {
    const inCache = cache.get(lib.soname) ?? [];
    const onLdPath = filesNamed(lib.soname, ldPath);
    const elsewhere = filesNamed(lib.soname, others);
    const foundAt = uniqueFiles([...inCache, ...onLdPath, ...elsewhere]);
    const loadable = inCache.length > 0 || onLdPath.length > 0;
    return { soname: lib.soname, component: lib.component, loadable, foundAt, fix: loadable ? null : fixFor(lib, foundAt) };
  });

  const otherMajors = uniqueFiles(OTHER_MAJOR_SONAMES.flatMap((s) => [...(cache.get(s) ?? []), ...filesNamed(s, searched)]));
  return { libs, allLoadable: libs.every((l) => l.loadable), otherMajors, searched, ldconfigRead: ldconfigOutput !== null };
}

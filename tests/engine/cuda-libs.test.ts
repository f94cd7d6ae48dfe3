import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCudaLibraries, parseLdconfig, TFJS_NODE_GPU_LIBS } from '../../src/engine/cuda-libs.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'cuda-libs-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeLib(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, 'not a real library');
  return file;
}

describe('parseLdconfig', () => {
  it('maps sonames to paths and skips the header', () => {
    const out = [
      '1234 libs found in cache `/etc/ld.so.cache\'',
      '\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.8/lib64/libcudart.so.11.0',
      '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
    ].join('\n');
    const map = parseLdconfig(out);
    expect(map.get('libcudart.so.11.0')).toEqual(['/usr/local/cuda-11.8/lib64/libcudart.so.11.0']);
    expect(map.get('libc.so.6')).toEqual(['/lib/x86_64-linux-gnu/libc.so.6']);
    expect(map.size).toBe(2);
  });
});

describe('findCudaLibraries', () => {
  const onLdPath = path.join(root, 'cuda-11.8', 'lib64');
  const offPath = path.join(root, 'site-packages', 'nvidia', 'cudnn', 'lib');
  const cuda12 = path.join(root, 'cuda-12.4', 'lib64');
  const cudart = fakeLib(onLdPath, 'libcudart.so.11.0');
  const cudnn = fakeLib(offPath, 'libcudnn.so.8');
  const cudart12 = fakeLib(cuda12, 'libcudart.so.12');
  symlinkSync(path.join(root, 'cuda-12.4'), path.join(root, 'cuda'));

  const report = findCudaLibraries({
    ldconfigOutput: '\tlibcublas.so.11 (libc6,x86-64) => /opt/fake/libcublas.so.11\n',
    ldLibraryPath: onLdPath,
    searchDirs: [offPath, cuda12, path.join(root, 'cuda', 'lib64')],
  });
  const byName = new Map(report.libs.map((l) => [l.soname, l]));

  it('checks every library tfjs-node-gpu loads', () => {
    expect(report.libs.map((l) => l.soname)).toEqual(TFJS_NODE_GPU_LIBS.map((l) => l.soname));
    expect(report.allLoadable).toBe(false);
    expect(report.ldconfigRead).toBe(true);
  });

  it('counts a file in an LD_LIBRARY_PATH folder as loadable', () => {
    expect(byName.get('libcudart.so.11.0')).toMatchObject({ loadable: true, foundAt: [cudart], fix: null });
  });

  it('counts an ldconfig cache entry as loadable', () => {
    expect(byName.get('libcublas.so.11')).toMatchObject({ loadable: true, foundAt: ['/opt/fake/libcublas.so.11'] });
  });

  it('says to extend LD_LIBRARY_PATH for a copy the loader cannot see', () => {
    const lib = byName.get('libcudnn.so.8')!;
    expect(lib.loadable).toBe(false);
    expect(lib.foundAt).toEqual([cudnn]);
    expect(lib.fix).toContain(`export LD_LIBRARY_PATH=${offPath}:$LD_LIBRARY_PATH`);
  });

  it('says how to install a library found nowhere', () => {
    const lib = byName.get('libcusparse.so.11')!;
    expect(lib).toMatchObject({ loadable: false, foundAt: [] });
    expect(lib.fix).toContain('CUDA 11');
    expect(lib.fix).toContain('nvidia-cusparse-cu11');
  });

  it('reports a CUDA 12 runtime once, however many symlinks lead to it', () => {
    expect(report.otherMajors).toEqual([cudart12]);
  });

  it('finds everything when all of it is on the loader path', () => {
    const all = path.join(root, 'all');
    for (const l of TFJS_NODE_GPU_LIBS) fakeLib(all, l.soname);
    const r = findCudaLibraries({ ldconfigOutput: null, ldLibraryPath: `/nonexistent:${all}`, searchDirs: [] });
    expect(r.allLoadable).toBe(true);
    expect(r.ldconfigRead).toBe(false);
  });

  it('on a CUDA 13 / cuDNN 9 machine (ldconfig as seen on an H200 host) finds nothing usable and names the newer majors', () => {
    const ldconfig = [
      '\tlibcudnn.so.9 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcudnn.so.9',
      '\tlibcudnn_ops.so.9 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcudnn_ops.so.9',
      '\tlibcudart.so.13 (libc6,x86-64) => /usr/local/cuda/targets/x86_64-linux/lib/libcudart.so.13',
      '\tlibcublasLt.so.13 (libc6,x86-64) => /usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13',
    ].join('\n');
    const r = findCudaLibraries({ ldconfigOutput: ldconfig, ldLibraryPath: '/usr/local/nvidia/lib64:/usr/local/nvidia/lib', searchDirs: [] });
    expect(r.libs.filter((l) => l.loadable)).toEqual([]);
    expect(r.otherMajors).toEqual([
      '/usr/local/cuda/targets/x86_64-linux/lib/libcudart.so.13',
      '/lib/x86_64-linux-gnu/libcudnn.so.9',
    ]);
    expect(r.libs[0].fix).toContain('install a CUDA 11.x toolkit beside any newer CUDA');
  });
});

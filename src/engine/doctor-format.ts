import type { DoctorReport } from './doctor.js';

const GiB = 1024 ** 3;

/** The human-readable doctor report, as printed on a terminal. */
export function formatDoctorReport(r: DoctorReport): string {
  const out: string[] = [];
  out.push('lora-study doctor', '');
  out.push(`node      ${r.node.version} (${r.node.platform}-${r.node.arch}), tfjs ${r.tfjsVersion}`);
  out.push(`cpu       ${r.cpu.model}, ${r.cpu.logicalCores} logical cores (${r.cpu.availableParallelism} usable)`);
  out.push(`memory    ${(r.memory.totalBytes / GiB).toFixed(1)} GiB total, ${(r.memory.freeBytes / GiB).toFixed(1)} GiB free`);
  if (r.gpus === null) out.push('gpu       none found (nvidia-smi absent or failed)');
  else if (r.gpus.length === 0) out.push('gpu       nvidia-smi lists no GPU');
  for (const g of r.gpus ?? []) {
    out.push(`gpu ${g.index}     ${g.name}, ${g.memoryUsedMiB}/${g.memoryTotalMiB} MiB used, driver ${g.driverVersion}`);
  }
  out.push('', 'backends');
  const width = Math.max(...r.backends.map((b) => b.backend.length));
  for (const b of r.backends) {
    const mark = b.ok ? 'ok  ' : 'no  ';
    const rate = b.matmulGflops !== undefined ? `, matmul 256³ ${b.matmulGflops.toFixed(1)} GFLOP/s` : '';
    const what = b.ok ? `${b.device}${rate}  [${b.reason}]` : b.reason;
    out.push(`  ${b.backend.padEnd(width)}  ${mark}${what}`);
  }
  out.push(`  auto picks: ${r.auto ? `${r.auto.backend} (${r.auto.device})` : 'nothing works'}`);
  out.push('', 'CUDA libraries for tfjs-node-gpu (CUDA 11.x, cuDNN 8.x)');
  for (const lib of r.cuda.libs) {
    const where = lib.loadable ? lib.foundAt[0] ?? 'loadable' : lib.foundAt.length > 0 ? `not on the loader path (${lib.foundAt[0]})` : 'missing';
    out.push(`  ${lib.loadable ? 'ok  ' : 'no  '}${lib.soname.padEnd(18)} ${where}`);
  }
  if (r.cuda.otherMajors.length > 0) out.push(`  other CUDA/cuDNN majors present: ${r.cuda.otherMajors.join(', ')}`);
  if (!r.cuda.ldconfigRead) out.push('  (ldconfig -p could not be read; only LD_LIBRARY_PATH and usual folders were searched)');
  if (r.advice.length > 0) {
    out.push('', 'what to do');
    for (const a of r.advice) out.push(a.startsWith('  ') ? `  ${a}` : `  - ${a}`);
  }
  return out.join('\n');
}

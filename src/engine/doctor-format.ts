import type { DoctorReport } from './doctor.js';
import { adapterLabel } from './webgpu-adapters.js';

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
    const soft = b.software ? ' (software: used only with --backend webgpu)' : '';
    const what = b.ok ? `${b.device}${rate}${soft}  [${b.reason}]` : b.reason;
    out.push(`  ${b.backend.padEnd(width)}  ${mark}${what}`);
  }
  out.push(`  auto picks: ${r.auto ? `${r.auto.backend} (${r.auto.device})` : 'nothing works'}`);
  out.push(`  native matmul for wasm: ${r.nativeMatmul.ok ? 'ok  ' : 'no  '}${r.nativeMatmul.detail}`);
  out.push(`  native ops for wasm: ${r.nativeOps.ok ? 'ok  ' : 'no  '}${r.nativeOps.detail}`);
  out.push(`  native Exp for wasm: ${r.nativeExp.ok ? 'ok  ' : 'no  '}${r.nativeExp.detail}`);
  out.push('', ...formatWebgpu(r));
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

const MiB = 1024 ** 2;

function formatWebgpu(r: DoctorReport): string[] {
  const w = r.webgpu;
  const out = [`WebGPU (Dawn${w.dawn.version ? ` ${w.dawn.version}` : ''}${w.forced ? `, LORA_STUDY_WEBGPU=${w.forced}` : ''})`];
  if (!w.dawn.ok) out.push(`  no  ${w.dawn.reason}`);
  if (w.dawn.ok && w.adapters.length === 0) out.push('  no adapter found on vulkan or opengles');
  for (const a of w.adapters) {
    const l = a.limits;
    out.push(`  ${a.software ? 'sw  ' : 'ok  '}${adapterLabel(a)}`);
    if (a.description && a.description !== a.device) out.push(`        ${a.description}`);
    out.push(
      `        binding ${(l.maxStorageBufferBindingSize / MiB).toFixed(0)} MiB, buffer ${(l.maxBufferSize / MiB).toFixed(0)} MiB, ` +
        `workgroup storage ${l.maxComputeWorkgroupStorageSize} B, ${l.maxComputeInvocationsPerWorkgroup} invocations, ` +
        `${l.maxStorageBuffersPerShaderStage} storage buffers/stage`,
    );
  }
  for (const q of w.requirements) out.push(`  ${q.ok ? 'ok  ' : 'no  '}${q.name}: ${q.detail}`);
  for (const e of w.envSet) out.push(`  set ${e.name}=${e.value} (${e.why})`);
  return out;
}

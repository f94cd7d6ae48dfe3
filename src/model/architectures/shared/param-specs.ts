import type { LinearSpec, ParamSpec } from '../spec.js';

/** A linear layer's weight (in its stored layout) and, when it has one, its bias. */
export function linearParamSpecs(prefix: string, s: LinearSpec): ParamSpec[] {
  const shape = s.layout === 'in_out' ? [s.inFeatures, s.outFeatures] : [s.outFeatures, s.inFeatures];
  const out: ParamSpec[] = [{ name: `${prefix}.${s.path}.weight`, shape, role: 'block', kind: 'weight' }];
  if (s.bias) out.push({ name: `${prefix}.${s.path}.bias`, shape: [s.outFeatures], role: 'block', kind: 'bias' });
  return out;
}

/** A LayerNorm's gain and bias. */
export function layerNormParamSpecs(name: string, size: number, role: ParamSpec['role']): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [size], role, kind: 'norm' },
    { name: `${name}.bias`, shape: [size], role, kind: 'bias' },
  ];
}

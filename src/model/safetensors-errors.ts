import { LoraStudyError } from '../util/errors.js';

/** Base class: every safetensors failure names the file it is about. */
export class SafetensorsError extends LoraStudyError {
  constructor(readonly path: string, message: string, hint?: string) {
    super(`${path}: ${message}`, { hint });
  }
}

const REDOWNLOAD = 'the file is incomplete or damaged: download or save it again';

/** The file ends before the header or a tensor's bytes do (an interrupted download or copy). */
export class SafetensorsTruncatedError extends SafetensorsError {
  constructor(
    path: string,
    /** Bytes the header says the file must have at least. */
    readonly neededBytes: number,
    readonly fileBytes: number,
    /** The tensor whose data runs past the end, or null when the header itself does. */
    readonly tensor: string | null,
  ) {
    super(
      path,
      tensor === null
        ? `truncated safetensors file: header needs ${neededBytes} bytes but the file has ${fileBytes}`
        : `truncated safetensors file: tensor "${tensor}" ends at byte ${neededBytes} but the file has ${fileBytes}`,
      REDOWNLOAD,
    );
  }
}

/** The header is not valid JSON, or its entries do not have the safetensors structure. */
export class SafetensorsHeaderError extends SafetensorsError {
  constructor(path: string, readonly reason: string) {
    super(path, `corrupt safetensors header: ${reason}`, `${REDOWNLOAD} (is this really a .safetensors file?)`);
  }
}

/** A tensor is stored in a dtype this project does not read (it reads F32, F16 and BF16). */
export class UnsupportedDtypeError extends SafetensorsError {
  constructor(path: string, readonly tensor: string, readonly dtype: string) {
    super(
      path,
      `tensor "${tensor}" has dtype ${dtype}; only F32, F16 and BF16 are supported`,
      'convert the checkpoint to float32, float16 or bfloat16 (in Python: model.to(torch.float32).save_pretrained(dir))',
    );
  }
}

/** A tensor's byte range does not hold exactly shape × dtype-size bytes. */
export class TensorByteLengthError extends SafetensorsError {
  constructor(
    path: string,
    readonly tensor: string,
    readonly shape: number[],
    readonly dtype: string,
    readonly expectedBytes: number,
    readonly actualBytes: number,
  ) {
    super(
      path,
      `tensor "${tensor}" (${dtype} [${shape.join(', ')}]) needs ${expectedBytes} bytes but its data_offsets span ${actualBytes}`,
      REDOWNLOAD,
    );
  }
}

/**
 * Two tensors' data_offsets overlap, or leave a gap (the reference implementation refuses both:
 * each tensor must start where the previous one ends). Names the tensors.
 */
export class SafetensorsOffsetError extends SafetensorsError {
  constructor(path: string, readonly tensor: string, readonly reason: string) {
    super(path, `corrupt safetensors header: tensor "${tensor}" ${reason}`, `${REDOWNLOAD} (is this really a .safetensors file?)`);
  }
}

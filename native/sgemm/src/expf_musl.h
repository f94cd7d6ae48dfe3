// musl's expf (Arm optimized-routines expf.c and exp2f_data.c; MIT licence, (c) 2017-2018 Arm Ltd):
// the libm expf that Emscripten compiles into tfjs-backend-wasm, so the same steps give the same bits.
#include <stdint.h>
#include <string.h>
static const uint64_t kExp2fTab[32] = {
0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
static inline uint32_t f_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline uint64_t d_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double bits_d(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static inline float musl_expf(float x) {
  const double InvLn2N = 0x1.71547652b82fep+0 * 32, Shift = 0x1.8p+52;
  const double C0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, C1 = 0x1.ebfce50fac4f3p-3 / 32 / 32, C2 = 0x1.62e42ff0c52d6p-1 / 32;
  const double xd = (double)x;
  const uint32_t abstop = (f_bits(x) >> 20) & 0x7ff;
  if (abstop >= (f_bits(88.0f) >> 20)) {
    if (f_bits(x) == f_bits(-__builtin_inff())) return 0.0f;
    if (abstop >= (f_bits(__builtin_inff()) >> 20)) return x + x;
    if (x > 0x1.62e42ep6f) return __builtin_inff();   // __math_oflowf(0): 0x1p97f * 0x1p97f
    if (x < -0x1.9fe368p6f) return 0.0f;             // __math_uflowf(0): 0x1p-95f * 0x1p-95f
  }
  double z = InvLn2N * xd;
  double kd = z + Shift;
  const uint64_t ki = d_bits(kd);
  kd -= Shift;
  const double r = z - kd;
  uint64_t t = kExp2fTab[ki % 32];
  t += ki << (52 - 5);
  const double s = bits_d(t);
  z = C0 * r + C1;
  const double r2 = r * r;
  double y = C2 * r + 1;
  y = z * r2 + y;
  y = y * s;
  return (float)y;
}

{
  "targets": [
    {
      "target_name": "sgemm",
      "sources": ["src/sgemm.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-ffp-contract=off"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=off"] },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } }
    },
    {
      "target_name": "ops",
      "sources": ["src/ops.cc", "src/fused.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-ffp-contract=off"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=off"] },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } }
    },
    {
      "target_name": "exact_libm",
      "sources": ["src/libm_exact.cc"],
      "variables": { "libm_archive": "<!(node ./libm-probe.cjs)" },
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O2", "-std=c++17", "-fno-math-errno", "-ffp-contract=off"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O2", "-std=c++17", "-ffp-contract=off"] },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } },
      "conditions": [
        ["libm_archive!=''", {
          "defines": ["LORA_LIBM_SSE2=1"],
          "libraries": ["<(libm_archive)"],
          "ldflags": ["-Wl,--exclude-libs,ALL"]
        }]
      ]
    }
  ]
}

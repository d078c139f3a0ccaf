# Fallback build with node-gyp: the CPU backend only (OpenMP; OpenBLAS opened
# at run time when installed, else the built-in GEMM), no CMake needed. `npm run build:gyp` builds it into build-gyp/ so it never
# replaces the cmake-js build in build/ (node-gyp wipes its own build folder).
{
  "variables": {
    "antler_root%": "."
  },
  "targets": [
    {
      "target_name": "antler",
      "sources": [
        "<(antler_root)/native/core/cells.cpp",
        "<(antler_root)/native/core/core.cpp",
        "<(antler_root)/native/core/deer.cpp",
        "<(antler_root)/native/core/error.cpp",
        "<(antler_root)/native/core/ops.cpp",
        "<(antler_root)/native/core/sru.cpp",
        "<(antler_root)/native/core/tensor.cpp",
        "<(antler_root)/native/cpu/allocator.cpp",
        "<(antler_root)/native/cpu/argreduce.cpp",
        "<(antler_root)/native/cpu/backend.cpp",
        "<(antler_root)/native/cpu/blas.cpp",
        "<(antler_root)/native/cpu/linalg.cpp",
        "<(antler_root)/native/cpu/linalg_lu.cpp",
        "<(antler_root)/native/cpu/linalg_qr.cpp",
        "<(antler_root)/native/cpu/linalg_spectral.cpp",
        "<(antler_root)/native/cpu/random_gamma.cpp",
        "<(antler_root)/native/cpu/random_discrete.cpp",
        "<(antler_root)/native/cpu/cells.cpp",
        "<(antler_root)/native/cpu/cells_avx2.cpp",
        "<(antler_root)/native/cpu/ctc.cpp",
        "<(antler_root)/native/cpu/cumsum.cpp",
        "<(antler_root)/native/cpu/deer_fused.cpp",
        "<(antler_root)/native/cpu/depthwise.cpp",
        "<(antler_root)/native/cpu/elementwise.cpp",
        "<(antler_root)/native/cpu/elk.cpp",
        "<(antler_root)/native/cpu/gemm.cpp",
        "<(antler_root)/native/cpu/grid_sample.cpp",
        "<(antler_root)/native/cpu/grid_sample_avx2.cpp",
        "<(antler_root)/native/cpu/isa.cpp",
        "<(antler_root)/native/cpu/optim.cpp",
        "<(antler_root)/native/cpu/parallel.cpp",
        "<(antler_root)/native/cpu/pointwise.cpp",
        "<(antler_root)/native/cpu/pool.cpp",
        "<(antler_root)/native/cpu/rows.cpp",
        "<(antler_root)/native/cpu/rows_avx2.cpp",
        "<(antler_root)/native/cpu/scan.cpp",
        "<(antler_root)/native/cpu/selection.cpp",
        "<(antler_root)/native/cpu/shape.cpp",
        "<(antler_root)/native/cpu/sru.cpp",
        "<(antler_root)/native/cpu/sru_avx2.cpp",
        "<(antler_root)/native/cpu/topk.cpp",
        "<(antler_root)/native/cpu/unary.cpp",
        "<(antler_root)/native/cpu/unary_avx2.cpp",
        "<(antler_root)/native/napi/addon.cpp",
        "<(antler_root)/native/napi/args.cpp",
        "<(antler_root)/native/cuda/unavailable.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(antler_root)/native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "ANTLER_VERSION=\"<!(node -p \"require('<(antler_root)/package.json').version\")\"",
        "ANTLER_BUILD_SYSTEM=\"node-gyp\"",
        "ANTLER_WITH_OPENBLAS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno", "-fopenmp", "-fvisibility=hidden"],
      "ldflags": ["-fopenmp"],
      "conditions": [["OS=='linux'", { "libraries": ["-ldl"], "ldflags": ["-Wl,-z,nodelete"] }]],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "OpenMP": "true" }
      }
    }
  ]
}

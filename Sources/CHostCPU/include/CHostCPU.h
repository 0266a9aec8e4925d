// Which instructions the CPU running us has, asked of the CPU itself. This module is compiled without -march, so it
// runs on any x86-64 and can say what is missing before any code built for x86-64-v3 runs.
#ifndef TOKENSCOPE_CHOSTCPU_H
#define TOKENSCOPE_CHOSTCPU_H

/// The number of x86-64-v3 features `ts_cpu_missing_x86_64_v3` reports on.
#define TS_CPU_FEATURE_COUNT 16

/// The features of x86-64-v3 this CPU lacks, bit i for feature i (see `ts_cpu_feature_name`); 0 when it has them
/// all. AVX counts as missing when the OS does not save the AVX registers. Always 0 on other architectures.
unsigned ts_cpu_missing_x86_64_v3(void);

/// The usual name of feature `index` ("avx2", "fma", ...); NULL outside 0..<TS_CPU_FEATURE_COUNT.
const char *ts_cpu_feature_name(int index);

#endif

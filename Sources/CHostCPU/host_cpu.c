#include "CHostCPU.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

// Bit positions follow the names; x86-64-v3 is x86-64-v2 (the first seven) plus the rest.
static const char *const names[TS_CPU_FEATURE_COUNT] = {
  "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cx16", "lahf", "avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "lzcnt",
  "movbe", "xsave",
};

const char *ts_cpu_feature_name(int index) {
  return index >= 0 && index < TS_CPU_FEATURE_COUNT ? names[index] : 0;
}

#if defined(__x86_64__)
static int bit(unsigned value, int position) { return (value >> position) & 1; }

unsigned ts_cpu_missing_x86_64_v3(void) {
  // Leaf 1 ECX, leaf 7 EBX, leaf 0x80000001 ECX; the other registers are not needed.
  unsigned ecx1 = 0, ebx7 = 0, ecx81 = 0, unused_a, unused_b, unused_c, unused_d;
  __get_cpuid(1, &unused_a, &unused_b, &ecx1, &unused_d);
  if (__get_cpuid_max(0, 0) >= 7) __get_cpuid_count(7, 0, &unused_a, &ebx7, &unused_c, &unused_d);
  if (__get_cpuid_max(0x80000000, 0) >= 0x80000001) __get_cpuid(0x80000001, &unused_a, &unused_b, &ecx81, &unused_d);

  // AVX registers are usable only when the OS saves them on a context switch: OSXSAVE set and XCR0 enabling the
  // SSE and AVX state (bits 1 and 2).
  int avx_state = 0;
  if (bit(ecx1, 27)) {
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    avx_state = (xcr0_low & 6) == 6;
  }

  const int has[TS_CPU_FEATURE_COUNT] = {
    bit(ecx1, 0), bit(ecx1, 9), bit(ecx1, 19), bit(ecx1, 20), bit(ecx1, 23), bit(ecx1, 13), bit(ecx81, 0),
    bit(ecx1, 28) && avx_state, bit(ebx7, 5) && avx_state, bit(ecx1, 12) && avx_state, bit(ebx7, 3), bit(ebx7, 8),
    bit(ecx1, 29) && avx_state, bit(ecx81, 5), bit(ecx1, 22), bit(ecx1, 26) && avx_state,
  };
  unsigned missing = 0;
  for (int i = 0; i < TS_CPU_FEATURE_COUNT; i++) {
    if (!has[i]) missing |= 1u << i;
  }
  return missing;
}
#else
// Elsewhere the kernels are built for the baseline instruction set: nothing can be missing.
unsigned ts_cpu_missing_x86_64_v3(void) { return 0; }
#endif

/*
 * isa.c - the run-time choice of vector kernels (see isa.h).  The CPU is
 * asked through the compiler's cpu-model builtins, which read what the C
 * runtime found at start-up: no state of ours.  Building with
 * -DAH_ISA_MAX=0 or 1 caps the level (scalar, AVX2), so that one machine
 * can measure what older CPUs run (bench/run.sh does).
 */
#include "isa.h"

#ifndef AH_ISA_MAX
#define AH_ISA_MAX AH__ISA_AVX512
#endif

int ah__isa_best(void)
{
#ifdef AH__HAVE_X86_KERNELS
    if (AH_ISA_MAX >= AH__ISA_AVX512 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx2"))
        return AH__ISA_AVX512;
    if (AH_ISA_MAX >= AH__ISA_AVX2 && __builtin_cpu_supports("avx2"))
        return AH__ISA_AVX2;
#endif
    return AH__ISA_SCALAR;
}

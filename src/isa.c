/*
 * isa.c - the run-time choice of vector kernels (see isa.h).  The CPU is
 * asked through the compiler's cpu-model builtins, which read what the C
 * runtime found at start-up: no state of ours.
 */
#include "isa.h"

int ah__isa_best(void)
{
#ifdef AH__HAVE_X86_KERNELS
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2"))
        return AH__ISA_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return AH__ISA_AVX2;
#endif
    return AH__ISA_SCALAR;
}

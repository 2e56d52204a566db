/*
 * isa.h - which vector kernels this CPU runs.
 *
 * Kernels for AVX2 and AVX-512 are compiled with per-function target
 * attributes and chosen at run time, so the library runs on any x86-64 and
 * builds elsewhere (scalar only).  Every kernel gives the bits of its
 * scalar twin; the tests hold each against it at every level the CPU runs.
 */
#ifndef AH_ISA_H
#define AH_ISA_H

#if defined(__GNUC__) && defined(__x86_64__)
#define AH__HAVE_X86_KERNELS 1
#endif

enum { AH__ISA_SCALAR = 0, AH__ISA_AVX2 = 1, AH__ISA_AVX512 = 2 };

/* The best level this CPU runs and this compiler builds (AVX-512 means
 * AVX-512F with AVX2). */
int ah__isa_best(void);

#endif

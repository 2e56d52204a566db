/*
 * symeig.h - eigenvalues and eigenvectors of a real symmetric matrix
 * (internal), for the decorrelated basis (basis.c).
 *
 * Householder reduction to tridiagonal form, then the implicit QL
 * iteration with Wilkinson shifts: O(n^3) time, 4 n doubles of scratch
 * beyond the caller's two n x n arrays.  tests/test_symeig.c holds it against cyclic Jacobi
 * rotations (a slow, obviously correct twin) and tests/python against
 * NumPy's eigh.
 */
#ifndef AH_SYMEIG_H
#define AH_SYMEIG_H

#include <stddef.h>

/* An iteration count no well-posed matrix comes near (QL needs two or
 * three per eigenvalue): past it the call fails instead of looping. */
#define AH__SYMEIG_MAX_ITER 60

/*
 * Decompose the symmetric n x n matrix a (row-major; only the upper
 * triangle is read; overwritten): on success w[0..n) holds the eigenvalues
 * in decreasing order and row k of vt (n x n, row-major) the unit
 * eigenvector of w[k], its largest-magnitude entry positive (so the
 * result does not depend on the solver's sign choices).  Returns 0, or
 * -1 when an eigenvalue did not converge within AH__SYMEIG_MAX_ITER
 * iterations (vt and w are then unspecified), -2 when scratch memory
 * (4 n doubles) could not be allocated.
 */
int ah__symeig(double *a, size_t n, double *w, double *vt);

#endif

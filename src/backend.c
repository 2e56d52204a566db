/*
 * backend.c - the table of query backends, their names, and the check of
 * ah_query_options.backend.
 *
 * One row per enum ah_backend, each the ah__backend of its own file.  The
 * table is sized by AH__BACKEND_COUNT, which the assertions below hold
 * against the enum, so a new value without a row (or a row without a
 * value) does not build.
 */
#include "backend.h"

#include <stdio.h>
#include <string.h>

const ah__backend *const ah__backends[AH__BACKEND_COUNT] = {
    [AH_BACKEND_CPU] = &ah__backend_cpu,
    [AH_BACKEND_REFERENCE] = &ah__backend_reference,
};

/* A case per enumerator and no default: -Wswitch sends a new backend
 * here, to the assertion that wants AH__BACKEND_COUNT one past it. */
__attribute__((unused)) static void backend_enum_guard(enum ah_backend b)
{
    switch (b) {
    case AH_BACKEND_CPU:
    case AH_BACKEND_REFERENCE:
        break;
    }
}
_Static_assert(AH_BACKEND_REFERENCE + 1 == AH__BACKEND_COUNT,
               "AH__BACKEND_COUNT is one past the last enum ah_backend");

const char *ah_backend_name(int b)
{
    return b >= 0 && b < AH__BACKEND_COUNT ? ah__backends[b]->name
                                           : "unknown";
}

int ah_backend_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < AH__BACKEND_COUNT; i++)
        if (strcmp(s, ah__backends[i]->name) == 0)
            return i;
    return -1;
}

/* names[] below holds every name: a few short ones */
_Static_assert(AH__BACKEND_COUNT <= 8, "ah__backend_check's names[]");

int ah__backend_check(int b, ah_diag *diag)
{
    if (b >= 0 && b < AH__BACKEND_COUNT)
        return AH_OK;
    char names[128] = "";
    for (int i = 0; i < AH__BACKEND_COUNT; i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%d (%s)",
                 i ? ", " : "", i, ah__backends[i]->name);
    }
    return ah__fail(diag, AH_ERR_ARG, -1, -1,
                    "query options: unknown backend %d; the backends are %s",
                    b, names);
}

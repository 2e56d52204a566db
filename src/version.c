/*
 * version.c - the version and the sizes of the public structs, at run
 * time: what a program or binding built against another header checks
 * before it trusts the library (python/acthist/_capi.py does on load).
 *
 * Workload: a few calls per process.
 */
#include "internal.h"

const char *ah_version(void)
{
    return AH_VERSION_STRING;
}

/* One row per enum ah_struct, in its order. */
static const size_t struct_sizes[] = {
    [AH_STRUCT_DIAG] = sizeof(ah_diag),
    [AH_STRUCT_FIT_OPTIONS] = sizeof(ah_fit_options),
    [AH_STRUCT_ROW_SOURCE] = sizeof(ah_row_source),
    [AH_STRUCT_SHARD_INFO] = sizeof(ah_shard_info),
    [AH_STRUCT_MODEL_INFO] = sizeof(ah_model_info),
    [AH_STRUCT_THRESHOLD] = sizeof(ah_threshold),
    [AH_STRUCT_CELL] = sizeof(ah_cell),
    [AH_STRUCT_SCAN_RESULT] = sizeof(ah_scan_result),
    [AH_STRUCT_GROUP_OPTIONS] = sizeof(ah_group_options),
    [AH_STRUCT_GROUP_RESULT] = sizeof(ah_group_result),
    [AH_STRUCT_INPUT] = sizeof(ah_input),
    [AH_STRUCT_QUERY_OPTIONS] = sizeof(ah_query_options),
};
_Static_assert(sizeof struct_sizes / sizeof struct_sizes[0] ==
                   AH_STRUCT_QUERY_OPTIONS + 1,
               "one size per enum ah_struct");

size_t ah_struct_size(int which)
{
    if (which < 0 || (size_t)which >= sizeof struct_sizes / sizeof *struct_sizes)
        return 0;
    return struct_sizes[which];
}

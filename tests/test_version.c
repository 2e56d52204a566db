/*
 * test_version.c - the version and struct sizes a binding checks at run
 * time: ah_version is the header's AH_VERSION_STRING and its numbers are
 * AH_VERSION_MAJOR/MINOR/PATCH; ah_struct_size gives sizeof every public
 * struct of enum ah_struct and 0 outside it.
 */
#include "acthist.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

static void test_version(void)
{
    const char *v = ah_version();
    int major = -1, minor = -1, patch = -1, end = 0;
    CHECK(v != NULL, "ah_version returned NULL");
    if (!v)
        return;
    CHECK(strcmp(v, AH_VERSION_STRING) == 0, "ah_version '%s', header '%s'",
          v, AH_VERSION_STRING);
    CHECK(sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &end) == 3 &&
              v[end] == 0,
          "ah_version '%s' is not MAJOR.MINOR.PATCH", v);
    CHECK(major == AH_VERSION_MAJOR && minor == AH_VERSION_MINOR &&
              patch == AH_VERSION_PATCH,
          "ah_version '%s', header %d.%d.%d", v, AH_VERSION_MAJOR,
          AH_VERSION_MINOR, AH_VERSION_PATCH);
    CHECK(ah_version() == v, "ah_version is not static storage");
}

static void test_struct_sizes(void)
{
    static const struct {
        int which;
        size_t size;
        const char *name;
    } want[] = {
        {AH_STRUCT_DIAG, sizeof(ah_diag), "ah_diag"},
        {AH_STRUCT_FIT_OPTIONS, sizeof(ah_fit_options), "ah_fit_options"},
        {AH_STRUCT_ROW_SOURCE, sizeof(ah_row_source), "ah_row_source"},
        {AH_STRUCT_SHARD_INFO, sizeof(ah_shard_info), "ah_shard_info"},
        {AH_STRUCT_MODEL_INFO, sizeof(ah_model_info), "ah_model_info"},
        {AH_STRUCT_THRESHOLD, sizeof(ah_threshold), "ah_threshold"},
        {AH_STRUCT_CELL, sizeof(ah_cell), "ah_cell"},
        {AH_STRUCT_SCAN_RESULT, sizeof(ah_scan_result), "ah_scan_result"},
        {AH_STRUCT_GROUP_OPTIONS, sizeof(ah_group_options),
         "ah_group_options"},
        {AH_STRUCT_GROUP_RESULT, sizeof(ah_group_result), "ah_group_result"},
        {AH_STRUCT_INPUT, sizeof(ah_input), "ah_input"},
        {AH_STRUCT_QUERY_OPTIONS, sizeof(ah_query_options),
         "ah_query_options"},
    };
    const size_t n = sizeof want / sizeof want[0];
    for (size_t i = 0; i < n; i++) {
        CHECK(want[i].which == (int)i, "%s is enum value %d, expected %zu",
              want[i].name, want[i].which, i);
        CHECK(ah_struct_size(want[i].which) == want[i].size,
              "%s: ah_struct_size %zu, sizeof %zu", want[i].name,
              ah_struct_size(want[i].which), want[i].size);
    }
    /* past either end of the enumeration: 0, never another struct's size */
    CHECK(ah_struct_size(-1) == 0, "ah_struct_size(-1) = %zu",
          ah_struct_size(-1));
    CHECK(ah_struct_size((int)n) == 0, "ah_struct_size(%zu) = %zu", n,
          ah_struct_size((int)n));
    CHECK(ah_struct_size(1 << 30) == 0, "ah_struct_size(2^30) = %zu",
          ah_struct_size(1 << 30));
}

int main(void)
{
    check_init();
    test_version();
    test_struct_sizes();
    return check_done("test_version");
}

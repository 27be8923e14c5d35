/* compare_report.c - the comparison's formats by name, and the one entry that writes any of them
 * (compare_report.h); each format lives in its own file. */
#include "reports/compare_report.h"

#include <string.h>

int compare_format_parse(const char *name, enum compare_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = COMPARE_TEXT;
    else if (strcmp(name, "md") == 0 || strcmp(name, "markdown") == 0)
        *out = COMPARE_MARKDOWN;
    else if (strcmp(name, "json") == 0)
        *out = COMPARE_JSON;
    else if (strcmp(name, "junit") == 0)
        *out = COMPARE_JUNIT;
    else
        return -1;
    return 0;
}

int report_compare(FILE *out, const struct compare_result *r, enum compare_format fmt)
{
    switch (fmt) {
    case COMPARE_TEXT: return report_compare_text(out, r);
    case COMPARE_MARKDOWN: return report_compare_markdown(out, r);
    case COMPARE_JSON: return report_compare_json(out, r);
    case COMPARE_JUNIT: return report_compare_junit(out, r);
    }
    return -1;
}

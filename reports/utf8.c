/* utf8.c - the one UTF-8 check every export shares (CSV, JSON, JUnit, the compare text): where a
 * valid sequence starts, so that bytes which are not one are written as U+FFFD and any decoder
 * accepts the file. Overlong forms, surrogates and code points past U+10FFFF are not valid. */
#include "reports/reports.h"

int report_utf8_sequence(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    int len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}
